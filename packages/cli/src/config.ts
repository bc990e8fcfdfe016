import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { TetherError } from '@tether/common';
import { BACKEND_EVENTS, FIELD_BY_KEY, FIELDS } from './config-fields.js';
import { FieldError } from './config-parsers.js';
import {
  type AuthConfig,
  type BackendConfig,
  type BackendEvent,
  HUB_DEFAULTS,
  type HubConfig,
  type JwtAlgorithm,
  type LogLevel,
  type TopicRule,
} from './config-types.js';
import { nearestName } from './near-names.js';

/**
 * A configuration the hub cannot run with. The message starts with where the bad value
 * came from (`--port`, `TETHER_PORT`, `tether.config.json: heartbeat.intervalMs`) and
 * says what was expected. Exit status 2.
 */
export class ConfigError extends TetherError {
  override name = 'ConfigError';

  constructor(message: string) {
    super('CONFIG', message, { retryable: false });
  }
}

/** One raw value and where it came from. */
export interface RawValue {
  value: unknown;
  /** Whether it is text to convert (flags, environment) or a JSON value (file, `serve()`). */
  text: boolean;
  /** `--port`, `TETHER_PORT`, `tether.config.json: port`, ... */
  label: string;
  /** For file values: the file's directory (relative key file paths resolve from it). */
  baseDir?: string;
}

/** Values by config key, from one source. */
export type ConfigLayer = Map<string, RawValue>;

/** The default config file, looked up in the working directory. */
export const CONFIG_FILE = 'tether.config.json';

/** What {@link resolveHubConfig} reads. */
export interface ConfigSources {
  /** Values from flags (see `parseServeArgs`). */
  flags?: ConfigLayer;
  /** `--config PATH`, if given. */
  configPath?: string;
  env?: Readonly<Record<string, string | undefined>>;
  /** Directory of the default config file and of relative paths. Default `process.cwd()`. */
  cwd?: string;
  /** Reads a file (tests inject one). Default `fs.readFileSync(path, 'utf8')`. */
  readFile?: (path: string) => string;
}

/** A resolved configuration and what the hub should say about it at start. */
export interface ResolvedConfig {
  config: HubConfig;
  /** The config file read, if any (as given or found). */
  file: string | undefined;
  /** Where each setting that is not a default came from, by key. */
  sources: Record<string, string>;
  /** Things worth a warning line (unknown TETHER_* variables, ignored settings). */
  warnings: string[];
}

/** Environment variables that are not settings but are ours. */
const OTHER_ENV = new Set(['TETHER_CONFIG']);

/**
 * Resolves the hub's configuration: flags over environment (`TETHER_*`) over the config
 * file (`--config PATH`, `TETHER_CONFIG`, or ./tether.config.json when it exists) over
 * defaults. Every value is checked; the first bad one throws a {@link ConfigError}
 * naming its source and key.
 */
export function resolveHubConfig(sources: ConfigSources = {}): ResolvedConfig {
  const env = sources.env ?? {};
  const cwd = sources.cwd ?? process.cwd();
  const readFile = sources.readFile ?? ((path: string) => readFileSync(path, 'utf8'));
  const warnings: string[] = [];

  let file: string | undefined;
  let fileLayer: ConfigLayer = new Map();
  const explicit =
    sources.configPath !== undefined
      ? { path: sources.configPath, label: '--config' }
      : nonEmpty(env.TETHER_CONFIG) !== undefined
        ? { path: env.TETHER_CONFIG as string, label: 'TETHER_CONFIG' }
        : undefined;
  const path = resolve(cwd, explicit?.path ?? CONFIG_FILE);
  let text: string | undefined;
  try {
    text = readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (explicit !== undefined || code !== 'ENOENT') {
      throw new ConfigError(
        `${explicit?.label ?? CONFIG_FILE}: cannot read "${explicit?.path ?? path}": ${code === 'ENOENT' ? 'no such file' : (err as Error).message}`,
      );
    }
  }
  if (text !== undefined) {
    file = explicit?.path ?? CONFIG_FILE;
    fileLayer = fileValues(parseJson(text, file), file, dirname(path));
  }

  const envLayer: ConfigLayer = new Map();
  for (const field of FIELDS) {
    for (const name of field.env ?? []) {
      const value = nonEmpty(env[name]);
      if (value !== undefined && !envLayer.has(field.key)) {
        envLayer.set(field.key, { value, text: true, label: name });
      }
    }
  }
  const known = new Set(FIELDS.flatMap((f) => f.env ?? []));
  // Only names close to a real setting: applications keep their own TETHER_* variables.
  for (const name of Object.keys(env)) {
    if (!name.startsWith('TETHER_') || known.has(name) || OTHER_ENV.has(name)) continue;
    const near = nearestName(name, [...known, ...OTHER_ENV], 'TETHER_');
    if (near !== undefined) {
      warnings.push(
        `${name} is not a Tether setting (ignored): did you mean ${near}? See docs/configuration.md`,
      );
    }
  }

  const resolved = buildConfig([sources.flags ?? new Map(), envLayer, fileLayer], cwd, warnings);
  return { ...resolved, file, warnings };
}

/**
 * Validates a configuration given as an object (the shape of tether.config.json), for
 * `serve()`; errors name `label` and the key.
 */
export function configFromObject(
  input: object,
  label = 'serve()',
  cwd = process.cwd(),
): { config: HubConfig; warnings: string[] } {
  const warnings: string[] = [];
  const { config } = buildConfig([fileValues(input, label, cwd)], cwd, warnings);
  return { config, warnings };
}

function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`${file}: not valid JSON: ${(err as Error).message}`);
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}

/** The tree of known keys: nested objects down to the fields. */
type KeyTree = Map<string, KeyTree | 'leaf'>;

const KEY_TREE: KeyTree = (() => {
  const root: KeyTree = new Map();
  for (const key of FIELD_BY_KEY.keys()) {
    const parts = key.split('.');
    let node = root;
    parts.forEach((part, i) => {
      if (i === parts.length - 1) node.set(part, 'leaf');
      else {
        let child = node.get(part);
        if (child === undefined || child === 'leaf') {
          child = new Map();
          node.set(part, child);
        }
        node = child;
      }
    });
  }
  return root;
})();

/** Flattens a config object to values by key, refusing unknown keys and misplaced values. */
function fileValues(input: unknown, file: string, baseDir: string): ConfigLayer {
  const layer: ConfigLayer = new Map();
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new ConfigError(`${file}: expected a JSON object at the top level`);
  }
  const walk = (object: Record<string, unknown>, tree: KeyTree, prefix: string): void => {
    for (const [name, value] of Object.entries(object)) {
      if (prefix === '' && name === '$schema') continue;
      const key = prefix === '' ? name : `${prefix}.${name}`;
      const node = tree.get(name);
      if (node === undefined) {
        throw new ConfigError(
          `${file}: ${key}: unknown key (known: ${[...tree.keys()].join(', ')})`,
        );
      }
      if (value === undefined) continue;
      if (node === 'leaf') {
        layer.set(key, { value, text: false, label: `${file}: ${key}`, baseDir });
        continue;
      }
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        throw new ConfigError(
          `${file}: ${key}: expected an object with ${[...node.keys()].join(', ')}, got ${JSON.stringify(value)}`,
        );
      }
      walk(value as Record<string, unknown>, node, key);
    }
  };
  walk(input as Record<string, unknown>, KEY_TREE, '');
  return layer;
}

/** Picks the winning value of each key (first layer first), parses and cross-checks. */
function buildConfig(
  layers: ConfigLayer[],
  cwd: string,
  warnings: string[],
): { config: HubConfig; sources: Record<string, string> } {
  const sources: Record<string, string> = {};
  const raw = (key: string): RawValue | undefined => {
    for (const layer of layers) {
      const value = layer.get(key);
      if (value !== undefined) return value;
    }
    return undefined;
  };
  const get = <T>(key: string, fallback: T): T => {
    const value = raw(key);
    if (value === undefined) return fallback;
    const field = FIELD_BY_KEY.get(key);
    if (field === undefined) throw new ConfigError(`${value.label}: unknown setting`);
    sources[key] = value.label;
    try {
      return field.parse(value.value, value.text) as T;
    } catch (err) {
      if (err instanceof FieldError)
        throw new ConfigError(`${value.label}${err.path}: ${err.message}`);
      throw err;
    }
  };
  const optional = <T>(key: string): T | undefined => get<T | undefined>(key, undefined);
  const d = HUB_DEFAULTS;

  const backend = resolveBackend(get, optional, raw);
  const config: HubConfig = {
    port: get('port', d.port),
    host: get('host', d.host),
    store: get('store', d.store),
    heartbeat: {
      intervalMs: get('heartbeat.intervalMs', d.heartbeatIntervalMs),
      timeoutMs: get('heartbeat.timeoutMs', d.heartbeatTimeoutMs),
    },
    resumeWindowMs: get('resumeWindowMs', d.resumeWindowMs),
    handshakeTimeoutMs: get('handshakeTimeoutMs', d.handshakeTimeoutMs),
    drainTimeoutMs: get('drainTimeoutMs', d.drainTimeoutMs),
    limits: {
      maxMessageBytes: get('limits.maxMessageBytes', d.maxMessageBytes),
      maxConnectionsPerIp: get('limits.maxConnectionsPerIp', d.maxConnectionsPerIp),
      rate: get<HubConfig['limits']['rate']>('limits.rate', {
        perSecond: d.ratePerSecond,
        burst: d.rateBurst,
      }),
      slowConsumerBytes: get('limits.slowConsumerBytes', d.slowConsumerBytes),
      maxSessionsPerUser: get('limits.maxSessionsPerUser', d.maxSessionsPerUser),
      maxPendingRequests: get('limits.maxPendingRequests', d.maxPendingRequests),
      maxBodyBytes: get('limits.maxBodyBytes', d.maxBodyBytes),
      headersTimeoutMs: get('limits.headersTimeoutMs', d.headersTimeoutMs),
      requestTimeoutMs: get('limits.requestTimeoutMs', d.requestTimeoutMs),
    },
    history: {
      maxCount: get('history.maxCount', d.historyMaxCount),
      maxAgeMs: get('history.maxAgeMs', d.historyMaxAgeMs),
    },
    topics: get<Record<string, TopicRule>>('topics', structuredClone(d.topics)),
    auth: resolveAuth(get, optional, raw, cwd, warnings, get('host', d.host), backend),
    api: {
      key: optional('api.key'),
      adminKey: optional('api.adminKey'),
      opsKey: optional('api.opsKey'),
    },
    ops: { public: get('ops.public', false) },
    origins: optional('origins'),
    trustProxy: get<string[]>('trustProxy', []),
    log: { level: get<LogLevel>('log.level', d.logLevel) },
    dashboard: get('dashboard', true),
    demo: get('demo', true),
    backend,
  };
  const { headersTimeoutMs, requestTimeoutMs } = config.limits;
  if (requestTimeoutMs < headersTimeoutMs) {
    const where = (key: string): string => raw(key)?.label ?? key;
    throw new ConfigError(
      `${where('limits.requestTimeoutMs')}: must be at least limits.headersTimeoutMs (${headersTimeoutMs} ms), got ${requestTimeoutMs} ms`,
    );
  }
  return { config, sources };
}

type Get = <T>(key: string, fallback: T) => T;
type Optional = <T>(key: string) => T | undefined;

/** The backend settings, with the checks that span several keys. */
function resolveBackend(
  get: Get,
  optional: Optional,
  raw: (key: string) => RawValue | undefined,
): BackendConfig {
  const d = HUB_DEFAULTS;
  const where = (key: string): string => raw(key)?.label ?? key;
  const paths = {} as Record<BackendEvent, string>;
  for (const event of BACKEND_EVENTS)
    paths[event] = get(`backend.paths.${event}`, d.backendPaths[event]);
  const backend: BackendConfig = {
    url: optional('backend.url'),
    secret: optional('backend.secret'),
    events: get<BackendEvent[]>('backend.events', [...d.backendEvents]),
    paths,
    timeoutMs: get('backend.timeoutMs', d.backendTimeoutMs),
    concurrency: get('backend.concurrency', d.backendConcurrency),
    retry: {
      minDelayMs: get('backend.retry.minDelayMs', d.backendRetryMinDelayMs),
      maxDelayMs: get('backend.retry.maxDelayMs', d.backendRetryMaxDelayMs),
    },
  };
  if (backend.retry.maxDelayMs < backend.retry.minDelayMs) {
    throw new ConfigError(
      `${where('backend.retry.maxDelayMs')}: must be at least backend.retry.minDelayMs (${backend.retry.minDelayMs} ms), got ${backend.retry.maxDelayMs} ms`,
    );
  }
  if (backend.url === undefined) {
    for (const key of ['backend.secret', 'backend.events']) {
      if (raw(key) !== undefined) {
        throw new ConfigError(
          `${where(key)}: needs backend.url (TETHER_BACKEND_URL, --backend-url)`,
        );
      }
    }
  }
  return backend;
}

/** The auth settings, with the checks that span several keys. */
function resolveAuth(
  get: Get,
  optional: Optional,
  raw: (key: string) => RawValue | undefined,
  cwd: string,
  warnings: string[],
  host: string,
  backend: BackendConfig,
): AuthConfig {
  const mode = get<'jwt' | 'none'>('auth.mode', HUB_DEFAULTS.authMode);
  const secret = optional<string>('auth.secret');
  const keyText = optional<string>('auth.publicKey');
  const where = (key: string): string => raw(key)?.label ?? key;
  if (backend.url !== undefined && backend.events.includes('connect')) {
    // One authority decides who connects: two would disagree about users and topics.
    for (const key of ['auth.secret', 'auth.publicKey']) {
      if (raw(key) !== undefined) {
        throw new ConfigError(
          `${where(key)}: the backend's connect hook decides who connects (${where('backend.events')} has connect); remove the JWT key or drop connect`,
        );
      }
    }
    return { mode: 'backend' };
  }
  if (mode === 'none') {
    for (const key of ['auth.secret', 'auth.publicKey', 'auth.issuer', 'auth.audience']) {
      if (raw(key) !== undefined) {
        warnings.push(`${where(key)} is ignored: authentication is off (${where('auth.mode')})`);
      }
    }
    return { mode: 'none' };
  }
  if (secret === undefined && keyText === undefined) {
    // Nothing about auth was configured and only this machine can connect: a first
    // `tether serve` works out of the box, and the start-up log says auth is off.
    // Reachable from the network, auth off must be asked for (--insecure).
    if (raw('auth.mode') === undefined && isLoopbackHost(host)) {
      warnings.push(
        `no JWT secret or public key is configured: authentication is OFF, allowed only because the hub listens on loopback (${host}); ` +
          'set TETHER_JWT_SECRET (or --jwt-secret) to turn it on, or --insecure to say it is meant',
      );
      return { mode: 'none' };
    }
    throw new ConfigError(
      'auth: tokens cannot be verified: set a JWT secret (TETHER_JWT_SECRET, --jwt-secret or auth.secret) ' +
        'or a public key (TETHER_JWT_PUBLIC_KEY, --jwt-public-key or auth.publicKey); ' +
        `for local development, --insecure turns authentication off (the hub listens on ${host}, ` +
        'reachable from other machines; on a loopback host such as 127.0.0.1 auth may stay unconfigured)',
    );
  }
  if (secret !== undefined && keyText !== undefined) {
    throw new ConfigError(
      `auth: set either a secret (${where('auth.secret')}) or a public key (${where('auth.publicKey')}), not both`,
    );
  }
  const publicKey =
    keyText === undefined ? undefined : readKey(keyText, raw('auth.publicKey'), cwd);
  const algorithm = get<JwtAlgorithm>('auth.algorithm', secret !== undefined ? 'HS256' : 'RS256');
  const hmac = algorithm.startsWith('HS');
  if (secret !== undefined && !hmac) {
    throw new ConfigError(
      `${where('auth.algorithm')}: ${algorithm} needs a public key, but a secret is set (${where('auth.secret')}); use HS256, HS384 or HS512`,
    );
  }
  if (publicKey !== undefined && hmac) {
    throw new ConfigError(
      `${where('auth.algorithm')}: ${algorithm} needs a secret, but a public key is set (${where('auth.publicKey')}); use RS256, ES256, EdDSA, ...`,
    );
  }
  return {
    mode: 'jwt',
    secret,
    publicKey,
    algorithm,
    issuer: optional('auth.issuer'),
    audience: optional('auth.audience'),
    clockToleranceMs: get('auth.clockToleranceMs', HUB_DEFAULTS.clockToleranceMs),
    anonymous: get('auth.anonymous', false),
    requireExp: get('auth.requireExp', HUB_DEFAULTS.requireExp),
    maxTokenLifetimeMs: get('auth.maxTokenLifetimeMs', HUB_DEFAULTS.maxTokenLifetimeMs),
    topicsClaim: get('auth.topicsClaim', HUB_DEFAULTS.topicsClaim),
  };
}

/** PEM text as given, or read from the file it names (relative to the config file or cwd). */
function readKey(value: string, source: RawValue | undefined, cwd: string): string {
  if (value.includes('-----BEGIN')) return value;
  const path = isAbsolute(value) ? value : resolve(source?.baseDir ?? cwd, value);
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(
      `${source?.label ?? 'auth.publicKey'}: not PEM text, and cannot read it as a file "${path}": ${code === 'ENOENT' ? 'no such file' : (err as Error).message}`,
    );
  }
}

/** Whether `host` accepts connections from this machine only (127.0.0.0/8, ::1, localhost). */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}
