import { SERVER_DEFAULTS, STORE_DEFAULTS } from '@tether/server';
import * as z from 'zod';
import { BACKEND } from './config-backend.js';
import { setting } from './config-registry.js';
import * as v from './config-values.js';

/**
 * The hub's configuration, once: every key of tether.config.json with its type, range,
 * default and description, and (in the `SETTINGS` registry, config-registry.ts) its flag and
 * environment variables. The resolver, `tether serve --help`, `--print-schema` (a JSON
 * Schema) and the test of docs/configuration.md all read this schema; nothing else
 * holds a default. Reasons for each default: docs/configuration.md.
 */

const DAY = 86_400_000;
const PERMISSION = v.oneOf(['anyone', 'authenticated', 'none']);
export const JWT_ALGORITHMS = [
  'HS256',
  'HS384',
  'HS512',
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
] as const;
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Per-namespace history bounds; an absent field keeps the hub-wide bound. */
const TOPIC_HISTORY = v.strictObject(
  {
    maxCount: v.int(0).optional().describe('publications kept per topic'),
    maxAgeMs: v
      .duration(1, 365 * DAY)
      .optional()
      .describe('age after which one is trimmed'),
  },
  '{ "maxCount": ..., "maxAgeMs": ... }',
);

/**
 * The rule of one topic namespace; an omitted permission is `none` for publish and
 * `authenticated` for subscribe, an omitted `history` keeps the hub-wide one.
 */
const TOPIC_RULE = v.strictObject(
  {
    publish: PERMISSION.default('none'),
    subscribe: PERMISSION.default('authenticated'),
    history: TOPIC_HISTORY.optional(),
  },
  '{ "publish": ..., "subscribe": ..., "history": ... }',
);

const TOPICS = z.record(v.namespacePattern(), TOPIC_RULE, {
  error: (issue) =>
    `expected an object of namespaces, e.g. { "demo:*": { "publish": "authenticated", "subscribe": "anyone" } }, got ${v.show(issue.input)}`,
});

const RATE = z.union(
  [
    z.literal(false),
    v.strictObject(
      { perSecond: v.int(1).default(100), burst: v.int(1).default(200) },
      '{ "perSecond": N, "burst": N }',
    ),
  ],
  {
    error: (issue) =>
      `expected { "perSecond": N, "burst": N } or false, got ${v.show(issue.input)}`,
  },
);

const HEARTBEAT = v.strictObject({
  intervalMs: setting(
    v.duration(10, DAY).default(SERVER_DEFAULTS.heartbeatIntervalMs),
    'heartbeat period, e.g. 25s or 500ms',
    { flag: '--heartbeat-interval', arg: '<d>', env: ['TETHER_HEARTBEAT_INTERVAL'] },
  ),
  timeoutMs: setting(
    v.duration(10, DAY).default(SERVER_DEFAULTS.heartbeatTimeoutMs),
    'silence past interval + this closes a connection',
    { flag: '--heartbeat-timeout', arg: '<d>', env: ['TETHER_HEARTBEAT_TIMEOUT'] },
  ),
});

const LIMITS = v.strictObject({
  maxMessageBytes: setting(
    v.int(256, 2 ** 30).default(SERVER_DEFAULTS.maxMessageBytes),
    'largest WebSocket message accepted, bytes',
    { flag: '--max-message-bytes', arg: '<n>', env: ['TETHER_MAX_MESSAGE_BYTES'], text: 'int' },
  ),
  maxConnectionsPerIp: setting(
    v.int(1).default(SERVER_DEFAULTS.maxConnectionsPerIp),
    'open connections per client IP',
    { env: ['TETHER_MAX_CONNECTIONS_PER_IP'], text: 'int' },
  ),
  rate: setting(
    RATE.default({ perSecond: SERVER_DEFAULTS.ratePerSecond, burst: SERVER_DEFAULTS.rateBurst }),
    'per-connection rate limit { perSecond, burst }, or false (config file only)',
  ),
  slowConsumerBytes: setting(
    v.int(1024).default(SERVER_DEFAULTS.slowConsumerBytes),
    'bytes held for one client before it is closed as a slow consumer',
    { env: ['TETHER_SLOW_CONSUMER_BYTES'], text: 'int' },
  ),
  maxSessionsPerUser: setting(
    v.int(1, 1_000_000).default(SERVER_DEFAULTS.maxSessionsPerUser),
    'sessions one user may hold, connected or resumable; the oldest is evicted',
    { env: ['TETHER_MAX_SESSIONS_PER_USER'], text: 'int' },
  ),
  maxPendingRequests: setting(
    v.int(1, 1_000_000).default(SERVER_DEFAULTS.maxPendingRequests),
    'requests of one connection waiting for an answer',
    { env: ['TETHER_MAX_PENDING_REQUESTS'], text: 'int' },
  ),
  replayPageBytes: setting(
    v.int(1024, 2 ** 30).default(SERVER_DEFAULTS.replayPageBytes),
    'most bytes one replay page reads from the store, one page per connection at a time',
    { env: ['TETHER_REPLAY_PAGE_BYTES'], text: 'int' },
  ),
  maxSubscriptionsPerConnection: setting(
    v.int(1, 1_000_000).default(SERVER_DEFAULTS.maxSubscriptionsPerConnection),
    'topics one connection may be subscribed to at once',
    { env: ['TETHER_MAX_SUBSCRIPTIONS_PER_CONNECTION'], text: 'int' },
  ),
  // 1 MiB: a publish body carries one message (≤ 64 KiB by default) plus JSON overhead;
  // more is a mistake or abuse.
  maxBodyBytes: setting(
    v.int(256, 2 ** 30).default(1024 * 1024),
    'largest HTTP API request body, bytes',
    {
      env: ['TETHER_MAX_BODY_BYTES'],
      text: 'int',
    },
  ),
  headersTimeoutMs: setting(
    v.duration(100, DAY).default(SERVER_DEFAULTS.headersTimeoutMs),
    'time to send complete HTTP request headers, then 408',
    { env: ['TETHER_HEADERS_TIMEOUT'] },
  ),
  requestTimeoutMs: setting(
    v.duration(100, DAY).default(SERVER_DEFAULTS.requestTimeoutMs),
    'time to send a whole HTTP request, then 408 (at least limits.headersTimeoutMs)',
    { env: ['TETHER_REQUEST_TIMEOUT'] },
  ),
});

const HISTORY = v.strictObject({
  maxCount: setting(
    v.int(0).default(STORE_DEFAULTS.historyMaxCount),
    'publications kept per topic',
    {
      env: ['TETHER_HISTORY_MAX_COUNT'],
      text: 'int',
    },
  ),
  maxAgeMs: setting(
    v.duration(1, 365 * DAY).default(STORE_DEFAULTS.historyMaxAgeMs),
    'age after which a publication is trimmed',
    { env: ['TETHER_HISTORY_MAX_AGE'] },
  ),
});

const AUTH = v.strictObject({
  mode: setting(
    v.oneOf(['jwt', 'none', 'backend']).default('jwt'),
    'jwt, none (development only), or backend (connect in backend.events)',
    {
      flag: '--auth',
      arg: '<mode>',
      env: ['TETHER_AUTH'],
      switchFlag: {
        flag: '--insecure',
        value: 'none',
        help: 'development mode: no authentication (same as --auth none)',
      },
    },
  ),
  secret: setting(
    v.str({ minLength: 32, what: 'an HMAC secret (RFC 7518: 256 bits or more)' }).optional(),
    'HMAC secret of HS256 tokens (32+ characters)',
    { flag: '--jwt-secret', arg: '<s>', env: ['TETHER_JWT_SECRET'] },
  ),
  publicKey: setting(
    v.str({ what: 'a PEM public key or the path of a PEM file' }).optional(),
    'public key of RS256/ES256/EdDSA tokens: PEM text or a file',
    { flag: '--jwt-public-key', arg: '<pem|file>', env: ['TETHER_JWT_PUBLIC_KEY'] },
  ),
  algorithm: setting(v.oneOf(JWT_ALGORITHMS).optional(), 'the one token algorithm accepted', {
    flag: '--jwt-algorithm',
    arg: '<alg>',
    env: ['TETHER_JWT_ALGORITHM'],
    defaultText: 'HS256 with a secret, RS256 with a key',
  }),
  issuer: setting(v.str().optional(), 'required token issuer (iss)', {
    env: ['TETHER_JWT_ISSUER'],
  }),
  audience: setting(v.str().optional(), 'required token audience (aud)', {
    env: ['TETHER_JWT_AUDIENCE'],
  }),
  // 5 s of clock skew between the token issuer and the hub.
  clockToleranceMs: setting(
    v.duration(0, 3_600_000).default(5_000),
    'accepted clock skew for exp/nbf',
    { env: ['TETHER_JWT_CLOCK_TOLERANCE'] },
  ),
  anonymous: setting(v.bool().default(false), 'accept connections without a token as anonymous', {
    env: ['TETHER_AUTH_ANONYMOUS'],
    text: 'bool',
  }),
  // Tokens must carry `exp`: a token without one would authenticate forever, and an
  // open connection could never be asked to refresh. Off only for development.
  requireExp: setting(v.bool().default(true), 'refuse tokens without an exp claim', {
    env: ['TETHER_JWT_REQUIRE_EXP'],
    text: 'bool',
  }),
  // 24 h: a day covers a working session of a device or tab that refreshes rarely, while
  // a leaked token still dies the same day; issuers of short tokens lose nothing by it.
  maxTokenLifetimeMs: setting(
    v.duration(1_000, 365 * DAY).default(DAY),
    'refuse tokens that live longer (exp - iat, or exp - now without iat)',
    { env: ['TETHER_JWT_MAX_LIFETIME'] },
  ),
  // Tokens without a `topics` claim get their own `{sub}` topics only: claims fail closed.
  topicsClaim: setting(
    v.oneOf(['required', 'optional']).default('required'),
    'required: tokens without a topics claim get only their own {sub} topics',
    { env: ['TETHER_JWT_TOPICS_CLAIM'] },
  ),
});

const API = v.strictObject({
  key: setting(
    v.str({ minLength: 16, what: 'an API key' }).optional(),
    'key of /api/* (16+ characters; without it the API is off)',
    {
      flag: '--api-key',
      arg: '<key>',
      env: ['TETHER_API_KEY'],
    },
  ),
  adminKey: setting(
    v.str({ minLength: 16, what: 'an admin key' }).optional(),
    'key of /admin/* (16+ characters; without it admin is off)',
    { flag: '--admin-key', arg: '<key>', env: ['TETHER_ADMIN_KEY'] },
  ),
  opsKey: setting(
    v.str({ minLength: 16, what: 'an operations key' }).optional(),
    'key of /stats, /metrics and /dashboard (16+ characters)',
    { env: ['TETHER_OPS_KEY'] },
  ),
});

/** Every setting of the hub: the shape of tether.config.json. */
export const HUB_SCHEMA = v
  .strictObject({
    port: setting(v.port().default(8080), 'port to listen on; 0 = any free port', {
      flag: '--port',
      arg: '<n>',
      env: ['TETHER_PORT', 'PORT'],
      text: 'int',
    }),
    // Reachable from this machine only until `--host` says otherwise.
    host: setting(v.host().default('127.0.0.1'), 'interface to bind', {
      flag: '--host',
      arg: '<addr>',
      env: ['TETHER_HOST'],
    }),
    // Durable by default: SQLite in ./data.
    store: setting(
      v.store().default('sqlite:./data/tether.db'),
      'memory, sqlite:PATH or redis://HOST:PORT[/DB] (rediss:// for TLS)',
      { flag: '--store', arg: '<spec>', env: ['TETHER_STORE'] },
    ),
    // The default depends on the store (config.ts): every core with Redis, else one process,
    // since sessions and topics live in one process's memory or one SQLite writer.
    workers: setting(
      v.int(1, 256).optional(),
      'hub processes sharing the port (Node cluster); more than 1 needs a redis:// store',
      {
        flag: '--workers',
        arg: '<n>',
        env: ['TETHER_WORKERS'],
        text: 'int',
        defaultText: 'the number of cores with a redis:// store, else 1',
      },
    ),
    // No flag: a password on the command line is visible to every user of the machine.
    redis: v
      .strictObject({
        password: setting(
          v.str({ what: 'a password' }).optional(),
          'password of a redis:// store (overrides one in the URL)',
          { env: ['TETHER_REDIS_PASSWORD'] },
        ),
      })
      .prefault({}),
    heartbeat: HEARTBEAT.prefault({}),
    resumeWindowMs: setting(
      v.duration(0, 30 * DAY).default(SERVER_DEFAULTS.resumeWindowMs),
      'how long a session survives a disconnect',
      { flag: '--resume-window', arg: '<d>', env: ['TETHER_RESUME_WINDOW'] },
    ),
    handshakeTimeoutMs: setting(
      v.duration(10, DAY).default(SERVER_DEFAULTS.handshakeTimeoutMs),
      'upgrade-to-hello deadline',
      { env: ['TETHER_HANDSHAKE_TIMEOUT'] },
    ),
    drainTimeoutMs: setting(
      v.duration(0, DAY).default(SERVER_DEFAULTS.drainTimeoutMs),
      'graceful shutdown: time clients get before the rest are cut',
      { flag: '--drain-timeout', arg: '<d>', env: ['TETHER_DRAIN_TIMEOUT'] },
    ),
    restartReconnectRate: setting(
      v.int(1, 1_000_000).default(SERVER_DEFAULTS.restartReconnectRate),
      'graceful shutdown: clients asked back per second at most',
      { env: ['TETHER_RESTART_RECONNECT_RATE'] },
    ),
    limits: LIMITS.prefault({}),
    history: HISTORY.prefault({}),
    // The demo page chats on `demo:chat`: open to every connection of an insecure hub,
    // and to tokens whose `topics` claim lists it.
    topics: setting(
      TOPICS.default({ 'demo:*': { publish: 'authenticated', subscribe: 'authenticated' } }),
      'topic namespaces and who may publish/subscribe (config file only)',
    ),
    auth: AUTH.prefault({}),
    api: API.prefault({}),
    ops: v
      .strictObject({
        public: setting(
          v.bool().default(false),
          'serve /stats, /metrics and /dashboard without the ops key (warns)',
          { env: ['TETHER_OPS_PUBLIC'], text: 'bool' },
        ),
      })
      .prefault({}),
    origins: setting(v.list().optional(), 'allowed browser origins of /ws', {
      env: ['TETHER_ORIGINS'],
      text: 'list',
      defaultText: "any with auth on; with auth off the hub's own origin",
    }),
    trustProxy: setting(
      v.proxies().default([]),
      'your proxies (addresses/CIDRs): client IPs from their X-Forwarded-For',
      { flag: '--trust-proxy', arg: '<list>', env: ['TETHER_TRUST_PROXY'], text: 'proxies' },
    ),
    log: v
      .strictObject({
        level: setting(v.oneOf(LOG_LEVELS).default('info'), LOG_LEVELS.join(', '), {
          flag: '--log-level',
          arg: '<level>',
          env: ['TETHER_LOG_LEVEL'],
        }),
      })
      .prefault({}),
    dashboard: setting(v.bool().default(true), 'serve the dashboard at /dashboard', {
      env: ['TETHER_DASHBOARD'],
      text: 'bool',
    }),
    demo: setting(v.bool().default(true), 'serve the demo page at /', {
      env: ['TETHER_DEMO'],
      text: 'bool',
    }),
    backend: BACKEND.prefault({}),
    /** Editors' schema reference; ignored. */
    $schema: z.string().optional(),
  })
  .describe('Configuration of the Tether hub (tether.config.json)');

/** The configuration as the schema checks it: every default applied. */
export type HubSettings = z.output<typeof HUB_SCHEMA>;
