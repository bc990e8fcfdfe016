import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ConfigError,
  type ConfigSources,
  configFromObject,
  HUB_DEFAULTS,
  resolveHubConfig,
  type ServeOptions,
  serve,
} from '@tether/hub';
import { afterAll, describe, expect, it } from 'vitest';
import { parseServeArgs } from '../src/index.js';

const SECRET = 's'.repeat(32);
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A temp dir holding `tether.config.json` with `content` (a string is written as is). */
function withFile(content: unknown, name = 'tether.config.json'): string {
  const dir = mkdtempSync(join(tmpdir(), 'tether-config-'));
  dirs.push(dir);
  writeFileSync(join(dir, name), typeof content === 'string' ? content : JSON.stringify(content));
  return dir;
}

const empty = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'tether-config-'));
  dirs.push(dir);
  return dir;
};

function resolve(
  argv: string[],
  env: Record<string, string> = {},
  cwd = empty(),
  extra: Partial<ConfigSources> = {},
) {
  const args = parseServeArgs(argv);
  return resolveHubConfig({
    flags: args.flags,
    ...(args.configPath === undefined ? {} : { configPath: args.configPath }),
    env,
    cwd,
    ...extra,
  });
}

function configError(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('hub configuration: sources and precedence', () => {
  it('has durable, loopback-only defaults; auth off without a secret only on loopback, and said so', () => {
    const loopback = resolve([]);
    expect(loopback.config.auth).toEqual({ mode: 'none' });
    expect(loopback.warnings.join('\n')).toMatch(
      /authentication is OFF.*loopback \(127\.0\.0\.1\)/,
    );

    for (const host of ['0.0.0.0', '10.1.2.3', '::']) {
      const message = configError(() => resolve(['--host', host]));
      expect(message).toMatch(/^auth: tokens cannot be verified/);
      expect(message).toContain('TETHER_JWT_SECRET');
      expect(message).toContain('--insecure');
      expect(message).toContain(host);
    }
    expect(resolve(['--host', '::1']).config.auth).toEqual({ mode: 'none' });
    expect(resolve(['--host', 'localhost']).config.auth).toEqual({ mode: 'none' });
    // Asked for JWT explicitly: no quiet fallback, even on loopback.
    expect(configError(() => resolve(['--auth', 'jwt']))).toMatch(
      /^auth: tokens cannot be verified/,
    );

    const { config, file, warnings } = resolve(['--insecure']);
    expect(file).toBeUndefined();
    expect(warnings).toEqual([]);
    expect(config).toMatchObject({
      port: 8080,
      host: '127.0.0.1',
      store: 'sqlite:./data/tether.db',
      heartbeat: { intervalMs: 25_000, timeoutMs: 10_000 },
      resumeWindowMs: 120_000,
      limits: {
        maxMessageBytes: 65_536,
        maxConnectionsPerIp: 100,
        rate: { perSecond: 100, burst: 200 },
        replayPageBytes: 262_144,
        maxSubscriptionsPerConnection: 1000,
      },
      history: { maxCount: 1000, maxAgeMs: 600_000 },
      topics: HUB_DEFAULTS.topics,
      auth: { mode: 'none' },
      api: { key: undefined, adminKey: undefined, opsKey: undefined },
      dashboard: true,
      demo: true,
    });
  });

  it('reads per-user namespaces ({sub} as one segment) and the topics claim policy', () => {
    const cwd = withFile({
      auth: { mode: 'none' },
      topics: {
        'user:{sub}': { subscribe: 'authenticated' },
        'inbox:{sub}:*': { publish: 'authenticated' },
        'home/{sub}*': {},
        '{sub}.alerts': {},
      },
    });
    expect(Object.keys(resolve([], {}, cwd).config.topics)).toEqual([
      'user:{sub}',
      'inbox:{sub}:*',
      'home/{sub}*',
      '{sub}.alerts',
    ]);
    const env = { TETHER_JWT_SECRET: SECRET, TETHER_JWT_TOPICS_CLAIM: 'optional' };
    expect(resolve([], env).config.auth).toMatchObject({ mode: 'jwt', topicsClaim: 'optional' });
  });

  it('reads trustProxy as a list of proxies from the flag, the environment and the file', () => {
    expect(resolve(['--insecure']).config.trustProxy).toEqual([]);
    expect(
      resolve(['--insecure', '--trust-proxy', '127.0.0.1, 10.0.0.0/8,::1']).config.trustProxy,
    ).toEqual(['127.0.0.1', '10.0.0.0/8', '::1']);
    expect(resolve(['--insecure'], { TETHER_TRUST_PROXY: 'fd00::/8' }).config.trustProxy).toEqual([
      'fd00::/8',
    ]);
    expect(resolve(['--insecure'], { TETHER_TRUST_PROXY: 'false' }).config.trustProxy).toEqual([]);
    const cwd = withFile({ auth: { mode: 'none' }, trustProxy: ['192.168.0.0/16'] });
    expect(resolve([], {}, cwd).config.trustProxy).toEqual(['192.168.0.0/16']);
    expect(
      configError(() => resolve([], {}, withFile({ auth: { mode: 'none' }, trustProxy: true }))),
    ).toMatch(/^tether\.config\.json: trustProxy: true is no longer accepted/);
  });

  it('reads per-namespace history bounds; an absent field keeps the hub-wide bound', () => {
    const cwd = withFile({
      auth: { mode: 'none' },
      history: { maxCount: 500 },
      topics: {
        'demo:*': { publish: 'anyone', history: { maxCount: 3, maxAgeMs: '30s' } },
        'audit:*': { subscribe: 'none', history: { maxAgeMs: 86_400_000 } },
        'chat:*': { publish: 'authenticated', history: {} },
        plain: { publish: 'none' },
      },
    });
    const { config } = resolve([], {}, cwd);
    expect(config.history).toEqual({ maxCount: 500, maxAgeMs: 600_000 });
    expect(config.topics['demo:*']).toEqual({
      publish: 'anyone',
      subscribe: 'authenticated',
      history: { maxCount: 3, maxAgeMs: 30_000 },
    });
    expect(config.topics['audit:*']?.history).toEqual({ maxAgeMs: 86_400_000 });
    expect(config.topics['chat:*']?.history).toEqual({});
    expect(config.topics.plain).toEqual({ publish: 'none', subscribe: 'authenticated' });
    expect('history' in (config.topics.plain ?? {})).toBe(false);
  });

  it('takes flags over environment over the config file over defaults', () => {
    const cwd = withFile({
      port: 7000,
      host: '127.0.0.1',
      heartbeat: { intervalMs: '5s', timeoutMs: 2000 },
      resumeWindowMs: '1m',
      auth: { mode: 'none' },
    });
    const fileOnly = resolve([], {}, cwd);
    expect(fileOnly.file).toBe('tether.config.json');
    expect(fileOnly.config).toMatchObject({
      port: 7000,
      host: '127.0.0.1',
      heartbeat: { intervalMs: 5000, timeoutMs: 2000 },
      resumeWindowMs: 60_000,
    });
    expect(fileOnly.sources.port).toBe('tether.config.json: port');

    const envOverFile = resolve([], { TETHER_PORT: '7100', TETHER_HEARTBEAT_INTERVAL: '7s' }, cwd);
    expect(envOverFile.config.port).toBe(7100);
    expect(envOverFile.config.heartbeat).toEqual({ intervalMs: 7000, timeoutMs: 2000 });
    expect(envOverFile.sources.port).toBe('TETHER_PORT');

    const flagsOverEnv = resolve(
      ['--port', '7200', '--heartbeat-interval=9s'],
      { TETHER_PORT: '7100', PORT: '7300' },
      cwd,
    );
    expect(flagsOverEnv.config.port).toBe(7200);
    expect(flagsOverEnv.config.heartbeat.intervalMs).toBe(9000);
    expect(flagsOverEnv.sources.port).toBe('--port');

    // PORT (the platform convention) is read after TETHER_PORT.
    expect(resolve(['--insecure'], { PORT: '9090' }).config.port).toBe(9090);
    expect(resolve(['--insecure'], { PORT: '9090', TETHER_PORT: '9191' }).config.port).toBe(9191);
  });

  it('reads --config PATH and TETHER_CONFIG, relative to the working directory', () => {
    const cwd = withFile({ port: 7400, auth: { mode: 'none' } }, 'hub.json');
    expect(resolve(['--config', 'hub.json'], {}, cwd).config.port).toBe(7400);
    expect(resolve([], { TETHER_CONFIG: 'hub.json' }, cwd).config.port).toBe(7400);
    expect(resolve([], { TETHER_CONFIG: 'hub.json' }, cwd).file).toBe('hub.json');
    expect(configError(() => resolve(['--config', 'missing.json'], {}, cwd))).toBe(
      '--config: cannot read "missing.json": no such file',
    );
  });

  it('reads the JWT settings from environment variables', () => {
    const { config } = resolve([], {
      TETHER_JWT_SECRET: SECRET,
      TETHER_JWT_ISSUER: 'https://auth.example.com',
      TETHER_API_KEY: 'a'.repeat(20),
      TETHER_ADMIN_KEY: 'b'.repeat(20),
      TETHER_STORE: 'memory',
    });
    expect(config.auth).toEqual({
      mode: 'jwt',
      secret: SECRET,
      publicKey: undefined,
      algorithm: 'HS256',
      issuer: 'https://auth.example.com',
      audience: undefined,
      clockToleranceMs: 5000,
      anonymous: false,
      requireExp: true,
      maxTokenLifetimeMs: 86_400_000,
      topicsClaim: 'required',
    });
    expect(config.api).toEqual({
      key: 'a'.repeat(20),
      adminKey: 'b'.repeat(20),
      opsKey: undefined,
    });
    expect(config.store).toBe('memory');
  });

  it('takes a Redis store URL and its password from the environment the hub is given', () => {
    const env = {
      TETHER_JWT_SECRET: SECRET,
      TETHER_STORE: 'rediss://redis.internal:6380/2',
      TETHER_REDIS_PASSWORD: 'from-the-env',
    };
    const { config } = resolve([], env);
    expect(config.store).toBe('rediss://redis.internal:6380/2');
    expect(config.redis).toEqual({ password: 'from-the-env' });
    expect(resolve(['--store', 'redis://127.0.0.1:6379'], {}).config.redis).toEqual({});
    const cwd = withFile({ redis: { password: '' } });
    expect(configError(() => resolve([], { TETHER_JWT_SECRET: SECRET }, cwd))).toMatch(
      /^tether\.config\.json: redis\.password: expected a password, got ""$/,
    );
  });

  it('runs one worker per core with a Redis store, one otherwise; more than one needs Redis', () => {
    const env = { TETHER_JWT_SECRET: SECRET };
    expect(resolve([], env).config.workers).toBe(1);
    expect(resolve(['--store', 'memory'], env).config.workers).toBe(1);
    expect(resolve(['--store', 'redis://127.0.0.1:6379'], env).config.workers).toBe(
      availableParallelism(),
    );
    expect(
      resolve(['--store', 'redis://127.0.0.1:6379'], { ...env, TETHER_WORKERS: '3' }).config
        .workers,
    ).toBe(3);
    expect(resolve(['--workers', '1', '--store', 'memory'], env).config.workers).toBe(1);
    expect(configError(() => resolve(['--workers', '2', '--store', 'memory'], env))).toBe(
      '--workers: 2 workers need a redis:// store (--store is memory): sessions and topics must be shared by the worker processes; use --store redis://HOST:PORT, or 1 worker',
    );
    expect(configError(() => resolve([], { ...env, TETHER_WORKERS: '4' }))).toMatch(
      /^TETHER_WORKERS: 4 workers need a redis:\/\/ store \(the default store is sqlite:\.\/data\/tether\.db\)/,
    );
    expect(configError(() => resolve(['--workers', '0'], env))).toMatch(
      /^--workers: expected an integer in \[1, 256\], got 0/,
    );
    const cwd = withFile({ workers: 2, store: 'sqlite:./x.db' });
    expect(configError(() => resolve([], env, cwd))).toMatch(
      /^tether\.config\.json: workers: 2 workers need a redis:\/\/ store \(tether\.config\.json: store is sqlite:\.\/x\.db\)/,
    );
  });

  it('reads auth.requireExp and auth.maxTokenLifetimeMs, naming the key in every error', () => {
    const env = { TETHER_JWT_SECRET: SECRET, TETHER_STORE: 'memory' };
    const { config } = resolve([], {
      ...env,
      TETHER_JWT_REQUIRE_EXP: 'false',
      TETHER_JWT_MAX_LIFETIME: '1h',
    });
    expect(config.auth).toMatchObject({ requireExp: false, maxTokenLifetimeMs: 3_600_000 });
    const cwd = withFile({ auth: { requireExp: false, maxTokenLifetimeMs: '15m' } });
    expect(resolve([], env, cwd).config.auth).toMatchObject({
      requireExp: false,
      maxTokenLifetimeMs: 900_000,
    });
    expect(configError(() => resolve([], { ...env, TETHER_JWT_MAX_LIFETIME: '10ms' }))).toMatch(
      /^TETHER_JWT_MAX_LIFETIME: must be between 1s and 8760h, got "10ms"$/,
    );
    expect(configError(() => resolve([], { ...env, TETHER_JWT_REQUIRE_EXP: 'maybe' }))).toMatch(
      /^TETHER_JWT_REQUIRE_EXP: /,
    );
  });

  it('reads a public key from PEM text or from a file next to the config file', () => {
    const pem = '-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----\n';
    const cwd = withFile({ auth: { publicKey: 'keys/jwt.pem', algorithm: 'ES256' } });
    const keyDir = join(cwd, 'keys');
    mkdirSync(keyDir);
    writeFileSync(join(keyDir, 'jwt.pem'), pem);
    const { config } = resolve([], {}, cwd);
    expect(config.auth).toMatchObject({ mode: 'jwt', publicKey: pem, algorithm: 'ES256' });
    expect(resolve([`--jwt-public-key=${pem}`]).config.auth).toMatchObject({ algorithm: 'RS256' });
    expect(configError(() => resolve(['--jwt-public-key', 'nope.pem']))).toMatch(
      /^--jwt-public-key: not PEM text, and cannot read it as a file ".*nope\.pem": no such file$/,
    );
  });

  it('warns about unknown TETHER_* variables and settings ignored in insecure mode', () => {
    const { warnings } = resolve(['--insecure'], { TETHER_PROT: '1', TETHER_JWT_SECRET: SECRET });
    expect(warnings).toContain(
      'TETHER_PROT is not a Tether setting (ignored): did you mean TETHER_PORT? See docs/configuration.md',
    );
    expect(warnings).toContain('TETHER_JWT_SECRET is ignored: authentication is off (--insecure)');
  });

  it("stays quiet about the application's own TETHER_* variables, far from any setting", () => {
    const { warnings } = resolve(['--insecure'], {
      TETHER_APP_SECRET: 'x',
      TETHER_FEATURE_FLAGS: 'a,b',
      TETHER_URL: 'ws://localhost:8080/ws',
      TETHER_HOTS: '1',
      TETHER_HEARTBEAT_INTERVL: '5s',
    });
    expect(warnings.filter((w) => w.includes('not a Tether setting'))).toEqual([
      'TETHER_HOTS is not a Tether setting (ignored): did you mean TETHER_HOST? See docs/configuration.md',
      'TETHER_HEARTBEAT_INTERVL is not a Tether setting (ignored): did you mean TETHER_HEARTBEAT_INTERVAL? See docs/configuration.md',
    ]);
  });
});

describe('hub configuration: every error names the source and the key', () => {
  it.each([
    [
      { heartbeat: { intervalMs: 'soon' } },
      /^tether\.config\.json: heartbeat\.intervalMs: expected milliseconds or a duration like "500ms"/,
    ],
    [
      { heartbeat: { intervalMs: 5 } },
      /^tether\.config\.json: heartbeat\.intervalMs: must be between 10ms and 24h, got 5$/,
    ],
    [
      { heartbeat: { interval: 5000 } },
      /^tether\.config\.json: heartbeat\.interval: unknown key \(known: intervalMs, timeoutMs\)$/,
    ],
    [
      { heartbeat: 5000 },
      /^tether\.config\.json: heartbeat: expected an object with intervalMs, timeoutMs, got 5000$/,
    ],
    [{ prot: 1 }, /^tether\.config\.json: prot: unknown key \(known: port, host, store/],
    [{ port: '8080' }, /^tether\.config\.json: port: expected a port number 0-65535, got "8080"$/],
    [
      { store: 'redis://127.0.0.1:6379/db' },
      /^tether\.config\.json: store: the database must be a number, got "db"$/,
    ],
    [
      { store: 'postgres://x' },
      /^tether\.config\.json: store: expected "memory", "sqlite:PATH" or "redis:/,
    ],
    [
      { limits: { maxMessageBytes: 10 } },
      /^tether\.config\.json: limits\.maxMessageBytes: expected an integer in \[256, 1073741824\], got 10$/,
    ],
    [
      { limits: { replayPageBytes: 100 } },
      /^tether\.config\.json: limits\.replayPageBytes: expected an integer in \[1024, 1073741824\], got 100$/,
    ],
    [
      { limits: { maxSubscriptionsPerConnection: 0 } },
      /^tether\.config\.json: limits\.maxSubscriptionsPerConnection: expected an integer in \[1, 1000000\], got 0$/,
    ],
    [
      { limits: { rate: { perSecond: 0 } } },
      /^tether\.config\.json: limits\.rate\.perSecond: expected an integer >= 1, got 0$/,
    ],
    [
      { topics: { 'demo:*': { publish: 'everyone' } } },
      /^tether\.config\.json: topics\["demo:\*"\]\.publish: expected one of anyone, authenticated, none, got "everyone"$/,
    ],
    [{ topics: { 'a*b': {} } }, /^tether\.config\.json: topics\["a\*b"\]: not a topic pattern/],
    [{ topics: { 'user{sub}': {} } }, /topics\["user\{sub\}"\]: not a topic pattern/],
    [{ topics: { 'user:{sub}x': {} } }, /topics\["user:\{sub\}x"\]: not a topic pattern/],
    [{ topics: { '{sub}:{sub}': {} } }, /topics\["\{sub\}:\{sub\}"\]: not a topic pattern/],
    [
      { auth: { mode: 'jwt', secret: 'x'.repeat(32), topicsClaim: 'maybe' } },
      /auth\.topicsClaim: expected one of required, optional/,
    ],
    [
      { topics: { 'demo:*': { history: 10 } } },
      /^tether\.config\.json: topics\["demo:\*"\]\.history: expected \{ "maxCount": \.\.\., "maxAgeMs": \.\.\. \}, got 10$/,
    ],
    [
      { topics: { 'demo:*': { history: { maxCount: -1 } } } },
      /^tether\.config\.json: topics\["demo:\*"\]\.history\.maxCount: expected an integer >= 0, got -1$/,
    ],
    [
      { topics: { 'demo:*': { history: { maxCount: '5' } } } },
      /^tether\.config\.json: topics\["demo:\*"\]\.history\.maxCount: expected an integer >= 0, got "5"$/,
    ],
    [
      { topics: { 'demo:*': { history: { maxAgeMs: 'soon' } } } },
      /^tether\.config\.json: topics\["demo:\*"\]\.history\.maxAgeMs: expected milliseconds or a duration like "500ms"/,
    ],
    [
      { topics: { 'demo:*': { history: { maxAgeMs: 0 } } } },
      /^tether\.config\.json: topics\["demo:\*"\]\.history\.maxAgeMs: must be between 1ms and 8760h, got 0$/,
    ],
    [
      { topics: { 'demo:*': { history: { maxAge: '1m' } } } },
      /^tether\.config\.json: topics\["demo:\*"\]\.history\.maxAge: unknown key \(known: maxCount, maxAgeMs\)$/,
    ],
    [
      { topics: { 'demo:*': { retention: {} } } },
      /^tether\.config\.json: topics\["demo:\*"\]\.retention: unknown key \(known: publish, subscribe, history\)$/,
    ],
    [
      { auth: { mode: 'oauth' } },
      /^tether\.config\.json: auth\.mode: expected one of jwt, none, backend, got "oauth"$/,
    ],
    [
      { auth: { secret: 'short' } },
      /^tether\.config\.json: auth\.secret: expected an HMAC secret \(RFC 7518: 256 bits or more\) of at least 32 characters, got 5$/,
    ],
    [
      { auth: { secret: SECRET, algorithm: 'RS256' } },
      /^tether\.config\.json: auth\.algorithm: RS256 needs a public key, but a secret is set \(tether\.config\.json: auth\.secret\)/,
    ],
    [
      { auth: { mode: 'none' }, api: { key: 'short' } },
      /^tether\.config\.json: api\.key: expected an API key of at least 16 characters, got 5$/,
    ],
    [
      { auth: { mode: 'none' }, log: { level: 'loud' } },
      /^tether\.config\.json: log\.level: expected one of fatal, error, warn, info, debug, trace, silent/,
    ],
  ])('config file %j', (content, message) => {
    const cwd = withFile({ auth: { mode: 'none' }, ...content });
    expect(configError(() => resolve([], {}, cwd))).toMatch(message);
  });

  it('reads the session and request limits, defaulting to the server library', () => {
    const defaults = resolve(['--insecure']).config.limits;
    expect(defaults).toMatchObject({ maxSessionsPerUser: 20, maxPendingRequests: 100 });
    const cwd = withFile({ limits: { maxSessionsPerUser: 3 }, auth: { mode: 'none' } });
    const given = resolve([], { TETHER_MAX_PENDING_REQUESTS: '7' }, cwd).config.limits;
    expect(given).toMatchObject({ maxSessionsPerUser: 3, maxPendingRequests: 7 });
    expect(
      configError(() => resolve(['--insecure'], { TETHER_MAX_SESSIONS_PER_USER: '0' })),
    ).toMatch(/^TETHER_MAX_SESSIONS_PER_USER: /);
  });

  it('names the file when it is not JSON or not an object', () => {
    expect(configError(() => resolve([], {}, withFile('{ "port": 80, }')))).toMatch(
      /^tether\.config\.json: not valid JSON: /,
    );
    expect(configError(() => resolve([], {}, withFile('[1]')))).toBe(
      'tether.config.json: expected a JSON object at the top level',
    );
  });

  it.each([
    [{ TETHER_PORT: 'http' }, /^TETHER_PORT: expected a port number 0-65535, got "http"$/],
    [{ PORT: '99999' }, /^PORT: expected a port number/],
    [{ TETHER_STORE: 'redis://' }, /^TETHER_STORE: the URL names no host$/],
    [
      { TETHER_HEARTBEAT_TIMEOUT: '2d' },
      /^TETHER_HEARTBEAT_TIMEOUT: expected milliseconds or a duration/,
    ],
    [
      { TETHER_TRUST_PROXY: 'maybe' },
      /^TETHER_TRUST_PROXY: "maybe" is not an IP address or CIDR range$/,
    ],
    [{ TETHER_TRUST_PROXY: 'true' }, /^TETHER_TRUST_PROXY: true is no longer accepted/],
    [{ TETHER_TRUST_PROXY: '10.0.0.0/40' }, /^TETHER_TRUST_PROXY: "10.0.0.0\/40": the prefix/],
    [{ TETHER_MAX_MESSAGE_BYTES: '1e6' }, /^TETHER_MAX_MESSAGE_BYTES: expected an integer/],
  ])('environment %j', (env, message) => {
    expect(configError(() => resolve(['--insecure'], env))).toMatch(message);
  });

  it.each([
    [['--port', 'abc'], /^--port: expected a port number 0-65535, got "abc"$/],
    [['--port', '70000'], /^--port: /],
    [['--port', '-1'], /^--port: /],
    [['--host', ''], /^--host: expected an address/],
    [['--store', 'sqlite:'], /^--store: sqlite needs a file path/],
    [['--store', 'redis://127.0.0.1/x'], /^--store: the database must be a number/],
    [
      ['--heartbeat-interval', 'soon'],
      /^--heartbeat-interval: expected milliseconds or a duration/,
    ],
    [['--heartbeat-interval', '5ms'], /^--heartbeat-interval: must be between 10ms and 24h/],
    [['--heartbeat-timeout', '48h'], /^--heartbeat-timeout: must be between/],
    [['--auth', 'basic'], /^--auth: expected one of jwt, none/],
    [['--api-key', 'x'], /^--api-key: expected an API key of at least 16 characters/],
  ])('flags %j', (argv, message) => {
    expect(configError(() => resolve(['--insecure', ...argv]))).toMatch(message);
  });

  it('says which two settings conflict', () => {
    const pem = '-----BEGIN PUBLIC KEY-----\nx\n-----END PUBLIC KEY-----';
    expect(
      configError(() => resolve(['--jwt-secret', SECRET], { TETHER_JWT_PUBLIC_KEY: pem })),
    ).toBe(
      'auth: set either a secret (--jwt-secret) or a public key (TETHER_JWT_PUBLIC_KEY), not both',
    );
  });

  it('validates serve() options the same way, naming serve()', () => {
    expect(configFromObject({ port: 0, auth: { mode: 'none' } }).config.port).toBe(0);
    expect(configError(() => configFromObject({ heartbeat: { intervalMs: -1 } }))).toMatch(
      /^serve\(\): heartbeat\.intervalMs: /,
    );
  });

  it('refuses the heartbeat shorthands of the first serve() (heartbeat.intervalMs is the key)', async () => {
    const io = { stdout: () => {}, stderr: () => {} };
    const old = { port: 0, heartbeatIntervalMs: 300 } as unknown as ServeOptions;
    await expect(serve(old, io)).rejects.toThrow(/^serve\(\): .*heartbeatIntervalMs/);
  });
});
