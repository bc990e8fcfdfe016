import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, isAbsolute, resolve } from 'node:path';
import { TetherError } from '@tether/common';
import type * as z from 'zod';
import { HUB_SCHEMA, type HubSettings } from './config-schema.js';
import { describeIssue, ENV_NAMES, fromText, HUB_SETTINGS } from './config-settings.js';
import type { AuthConfig, BackendConfig, HubConfig } from './config-types.js';
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
// TETHER_WORKER_SLOT: set by the primary of `--workers N` in each worker it forks.
const OTHER_ENV = new Set(['TETHER_CONFIG', 'TETHER_WORKER_SLOT']);

/**
 * Resolves the hub's configuration: flags over environment (`TETHER_*`) over the config
 * file (`--config PATH`, `TETHER_CONFIG`, or ./tether.config.json when it exists) over
 * defaults. Every value is checked against the schema; the first bad one throws a
 * {@link ConfigError} naming its source and key.
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
  for (const setting of HUB_SETTINGS) {
    for (const name of setting.env ?? []) {
      const value = nonEmpty(env[name]);
      if (value !== undefined && !envLayer.has(setting.key)) {
        envLayer.set(setting.key, { value, text: true, label: name });
      }
    }
  }
  const known = new Set(ENV_NAMES);
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

/** The first issue of a failed check, as a {@link ConfigError} starting with `label`. */
function issueError(issue: z.core.$ZodIssue, label: (path: string) => string): ConfigError {
  const { path, message } = describeIssue(issue);
  return new ConfigError(`${label(path)}: ${message}`);
}

/**
 * Checks a whole config file (or `serve()` object) against the schema, so unknown keys
 * and bad values are named by their path in it, then lists the values it sets by key.
 */
function fileValues(input: unknown, file: string, baseDir: string): ConfigLayer {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new ConfigError(`${file}: expected a JSON object at the top level`);
  }
  const checked = HUB_SCHEMA.safeParse(input);
  if (!checked.success) {
    throw issueError(checked.error.issues[0] as z.core.$ZodIssue, (path) =>
      path === '' ? file : `${file}: ${path}`,
    );
  }
  const layer: ConfigLayer = new Map();
  for (const { key } of HUB_SETTINGS) {
    let value: unknown = input;
    for (const part of key.split('.')) value = (value as Record<string, unknown>)?.[part];
    if (value !== undefined) {
      layer.set(key, { value, text: false, label: `${file}: ${key}`, baseDir });
    }
  }
  return layer;
}

/** Picks the winning value of each key (first layer first), checks them and cross-checks. */
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
  const input: Record<string, unknown> = {};
  for (const setting of HUB_SETTINGS) {
    const value = raw(setting.key);
    if (value === undefined) continue;
    sources[setting.key] = value.label;
    const parts = setting.key.split('.');
    let node = input;
    for (const part of parts.slice(0, -1)) {
      node[part] ??= {};
      node = node[part] as Record<string, unknown>;
    }
    node[parts.at(-1) as string] =
      value.text && typeof value.value === 'string' ? fromText(setting, value.value) : value.value;
  }
  const checked = HUB_SCHEMA.safeParse(input);
  if (!checked.success) {
    throw issueError(checked.error.issues[0] as z.core.$ZodIssue, (path) => {
      const setting = HUB_SETTINGS.find(
        (s) => path === s.key || path.startsWith(`${s.key}.`) || path.startsWith(`${s.key}[`),
      );
      const label = setting === undefined ? undefined : raw(setting.key)?.label;
      return label === undefined || setting === undefined
        ? path
        : `${label}${path.slice(setting.key.length)}`;
    });
  }
  const { $schema: _, auth: _auth, api, origins, workers, ...settings } = checked.data;
  const config: HubConfig = {
    ...settings,
    workers: resolveWorkers(workers, settings.store, raw),
    auth: resolveAuth(checked.data.auth, raw, cwd, warnings, settings.host, settings.backend),
    api: { key: api.key, adminKey: api.adminKey, opsKey: api.opsKey },
    origins,
  };
  const where = (key: string): string => raw(key)?.label ?? key;
  const { headersTimeoutMs, requestTimeoutMs } = config.limits;
  if (requestTimeoutMs < headersTimeoutMs) {
    throw new ConfigError(
      `${where('limits.requestTimeoutMs')}: must be at least limits.headersTimeoutMs (${headersTimeoutMs} ms), got ${requestTimeoutMs} ms`,
    );
  }
  checkBackend(config.backend, raw, where);
  return { config, sources };
}

/** Whether `store` is shared by several processes (and machines): a Redis store. */
export function isSharedStore(store: string): boolean {
  return store.startsWith('redis://') || store.startsWith('rediss://');
}

/**
 * `workers`: every core by default with a Redis store, else 1. More than one process
 * needs a store they share: a memory store lives in one process, and a SQLite file has
 * one writer and no fan-out between processes.
 */
function resolveWorkers(
  workers: number | undefined,
  store: string,
  raw: (key: string) => RawValue | undefined,
): number {
  const shared = isSharedStore(store);
  if (workers === undefined) return shared ? availableParallelism() : 1;
  if (workers > 1 && !shared) {
    const where = raw('workers')?.label ?? 'workers';
    const storeWhere = raw('store')?.label ?? 'the default store';
    throw new ConfigError(
      `${where}: ${workers} workers need a redis:// store (${storeWhere} is ${store}): sessions and topics must be shared by the worker processes; use --store redis://HOST:PORT, or 1 worker`,
    );
  }
  return workers;
}

/** The backend settings' checks that span keys (each key may come from another source). */
function checkBackend(
  backend: BackendConfig,
  raw: (key: string) => RawValue | undefined,
  where: (key: string) => string,
): void {
  const { minDelayMs, maxDelayMs } = backend.retry;
  if (maxDelayMs < minDelayMs) {
    throw new ConfigError(
      `${where('backend.retry.maxDelayMs')}: must be at least backend.retry.minDelayMs (${minDelayMs} ms), got ${maxDelayMs} ms`,
    );
  }
  if (backend.url !== undefined) return;
  for (const key of ['backend.secret', 'backend.events']) {
    if (raw(key) !== undefined) {
      throw new ConfigError(`${where(key)}: needs backend.url (TETHER_BACKEND_URL, --backend-url)`);
    }
  }
}

/** The auth settings, with the checks that span several keys. */
function resolveAuth(
  auth: HubSettings['auth'],
  raw: (key: string) => RawValue | undefined,
  cwd: string,
  warnings: string[],
  host: string,
  backend: BackendConfig,
): AuthConfig {
  const { mode, secret, publicKey: keyText, algorithm: chosen, ...rest } = auth;
  const where = (key: string): string => raw(key)?.label ?? key;
  const connectHook = backend.url !== undefined && backend.events.includes('connect');
  if (mode === 'backend' && !connectHook) {
    throw new ConfigError(
      `${where('auth.mode')}: backend needs backend.url and connect in backend.events (the backend's connect hook decides who connects)`,
    );
  }
  if (connectHook) {
    // One authority decides who connects: two would disagree about users and topics.
    for (const key of ['auth.mode', 'auth.secret', 'auth.publicKey']) {
      if (raw(key) !== undefined && !(key === 'auth.mode' && mode === 'backend')) {
        throw new ConfigError(
          `${where(key)}: the backend's connect hook decides who connects (${where('backend.events')} has connect); remove ${key} or drop connect`,
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
  const algorithm = chosen ?? (secret !== undefined ? 'HS256' : 'RS256');
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
    issuer: rest.issuer,
    audience: rest.audience,
    clockToleranceMs: rest.clockToleranceMs,
    anonymous: rest.anonymous,
    requireExp: rest.requireExp,
    maxTokenLifetimeMs: rest.maxTokenLifetimeMs,
    topicsClaim: rest.topicsClaim,
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
