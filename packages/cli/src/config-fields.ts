import * as p from './config-parsers.js';
import type { BackendEvent, JwtAlgorithm, LogLevel } from './config-types.js';

/**
 * Every setting of the hub, once: its key in the config file (dotted for nested
 * objects), the flag and environment variables that may set it, and its parser. The
 * resolver, `--help` and docs/configuration.md all follow this table.
 */
export interface FieldSpec {
  /** Key in tether.config.json, dotted for nesting (`heartbeat.intervalMs`). */
  key: string;
  /** Flag, e.g. `--port`. */
  flag?: string;
  /** Placeholder in `--help` (`<n>`); a flag without one takes no value. */
  arg?: string;
  /** For a flag without a value: the value it sets. */
  flagValue?: unknown;
  /** Environment variables, first found wins. */
  env?: readonly string[];
  parse: p.Parser<unknown>;
  /** One line for `--help`. */
  help: string;
}

const DAY = 86_400_000;
const LOG_LEVELS: readonly LogLevel[] = [
  'fatal',
  'error',
  'warn',
  'info',
  'debug',
  'trace',
  'silent',
];
export const BACKEND_EVENTS: readonly BackendEvent[] = [
  'message',
  'request',
  'connect',
  'publish',
  'subscribe',
  'disconnect',
];
export const JWT_ALGORITHMS: readonly JwtAlgorithm[] = [
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
];

export const FIELDS: readonly FieldSpec[] = [
  {
    key: 'port',
    flag: '--port',
    arg: '<n>',
    env: ['TETHER_PORT', 'PORT'],
    parse: p.port,
    help: 'port to listen on (default 8080; 0 = any free port)',
  },
  {
    key: 'host',
    flag: '--host',
    arg: '<addr>',
    env: ['TETHER_HOST'],
    parse: p.host,
    help: 'interface to bind (default 0.0.0.0)',
  },
  {
    key: 'store',
    flag: '--store',
    arg: '<spec>',
    env: ['TETHER_STORE'],
    parse: p.store,
    help: 'memory, or sqlite:PATH (default sqlite:./data/tether.db)',
  },
  {
    key: 'heartbeat.intervalMs',
    flag: '--heartbeat-interval',
    arg: '<d>',
    env: ['TETHER_HEARTBEAT_INTERVAL'],
    parse: p.duration(10, DAY),
    help: 'heartbeat period, e.g. 25s or 500ms (default 25s)',
  },
  {
    key: 'heartbeat.timeoutMs',
    flag: '--heartbeat-timeout',
    arg: '<d>',
    env: ['TETHER_HEARTBEAT_TIMEOUT'],
    parse: p.duration(10, DAY),
    help: 'silence past interval + this closes a connection (default 10s)',
  },
  {
    key: 'resumeWindowMs',
    flag: '--resume-window',
    arg: '<d>',
    env: ['TETHER_RESUME_WINDOW'],
    parse: p.duration(0, 30 * DAY),
    help: 'how long a session survives a disconnect (default 2m)',
  },
  {
    key: 'handshakeTimeoutMs',
    env: ['TETHER_HANDSHAKE_TIMEOUT'],
    parse: p.duration(10, DAY),
    help: 'upgrade-to-hello deadline (default 10s)',
  },
  {
    key: 'drainTimeoutMs',
    flag: '--drain-timeout',
    arg: '<d>',
    env: ['TETHER_DRAIN_TIMEOUT'],
    parse: p.duration(0, DAY),
    help: 'graceful shutdown: time clients get before the rest are cut (default 10s)',
  },
  {
    key: 'limits.maxMessageBytes',
    flag: '--max-message-bytes',
    arg: '<n>',
    env: ['TETHER_MAX_MESSAGE_BYTES'],
    parse: p.int(256, 2 ** 30),
    help: 'largest WebSocket message accepted (default 65536)',
  },
  {
    key: 'limits.maxConnectionsPerIp',
    env: ['TETHER_MAX_CONNECTIONS_PER_IP'],
    parse: p.int(1),
    help: 'open connections per client IP (default 100)',
  },
  {
    key: 'limits.rate',
    parse: p.rate,
    help: 'per-connection rate limit { perSecond, burst } or false (default 100/s, burst 200)',
  },
  {
    key: 'limits.slowConsumerBytes',
    env: ['TETHER_SLOW_CONSUMER_BYTES'],
    parse: p.int(1024),
    help: 'bytes held for one client before it is closed as a slow consumer (default 4 MiB)',
  },
  {
    key: 'limits.maxSessionsPerUser',
    env: ['TETHER_MAX_SESSIONS_PER_USER'],
    parse: p.int(1, 1_000_000),
    help: 'sessions one user may hold, connected or resumable; the oldest is evicted (default 20)',
  },
  {
    key: 'limits.maxPendingRequests',
    env: ['TETHER_MAX_PENDING_REQUESTS'],
    parse: p.int(1, 1_000_000),
    help: 'requests of one connection waiting for an answer (default 100)',
  },
  {
    key: 'limits.maxBodyBytes',
    env: ['TETHER_MAX_BODY_BYTES'],
    parse: p.int(256, 2 ** 30),
    help: 'largest HTTP API request body (default 1 MiB)',
  },
  {
    key: 'limits.headersTimeoutMs',
    env: ['TETHER_HEADERS_TIMEOUT'],
    parse: p.duration(100, DAY),
    help: 'time to send complete HTTP request headers, then 408 (default 10s)',
  },
  {
    key: 'limits.requestTimeoutMs',
    env: ['TETHER_REQUEST_TIMEOUT'],
    parse: p.duration(100, DAY),
    help: 'time to send a whole HTTP request, then 408 (default 10s)',
  },
  {
    key: 'history.maxCount',
    env: ['TETHER_HISTORY_MAX_COUNT'],
    parse: p.int(0),
    help: 'publications kept per topic (default 1000)',
  },
  {
    key: 'history.maxAgeMs',
    env: ['TETHER_HISTORY_MAX_AGE'],
    parse: p.duration(1, 365 * DAY),
    help: 'age after which a publication is trimmed (default 10m)',
  },
  {
    key: 'topics',
    parse: p.topics,
    help: 'topic namespaces and who may publish/subscribe (config file only)',
  },
  {
    key: 'auth.mode',
    flag: '--auth',
    arg: '<mode>',
    env: ['TETHER_AUTH'],
    parse: p.oneOf(['jwt', 'none'] as const),
    help: 'jwt (default) or none',
  },
  {
    key: 'auth.mode',
    flag: '--insecure',
    flagValue: 'none',
    env: [],
    parse: p.oneOf(['jwt', 'none'] as const),
    help: 'development mode: no authentication (same as --auth none)',
  },
  {
    key: 'auth.secret',
    flag: '--jwt-secret',
    arg: '<s>',
    env: ['TETHER_JWT_SECRET'],
    parse: p.str({ minLength: 32, what: 'an HMAC secret (RFC 7518: 256 bits or more)' }),
    help: 'HMAC secret of HS256 tokens (32+ characters)',
  },
  {
    key: 'auth.publicKey',
    flag: '--jwt-public-key',
    arg: '<pem|file>',
    env: ['TETHER_JWT_PUBLIC_KEY'],
    parse: p.str({ what: 'a PEM public key or the path of a PEM file' }),
    help: 'public key of RS256/ES256/EdDSA tokens: PEM text or a file',
  },
  {
    key: 'auth.algorithm',
    flag: '--jwt-algorithm',
    arg: '<alg>',
    env: ['TETHER_JWT_ALGORITHM'],
    parse: p.oneOf(JWT_ALGORITHMS),
    help: 'token algorithm (default HS256 with a secret, RS256 with a public key)',
  },
  {
    key: 'auth.issuer',
    env: ['TETHER_JWT_ISSUER'],
    parse: p.str(),
    help: 'required token issuer (iss)',
  },
  {
    key: 'auth.audience',
    env: ['TETHER_JWT_AUDIENCE'],
    parse: p.str(),
    help: 'required token audience (aud)',
  },
  {
    key: 'auth.clockToleranceMs',
    env: ['TETHER_JWT_CLOCK_TOLERANCE'],
    parse: p.duration(0, 3_600_000),
    help: 'accepted clock skew for exp/nbf (default 5s)',
  },
  {
    key: 'auth.requireExp',
    env: ['TETHER_JWT_REQUIRE_EXP'],
    parse: p.bool,
    help: 'refuse tokens without an exp claim (default true; false only for development)',
  },
  {
    key: 'auth.maxTokenLifetimeMs',
    env: ['TETHER_JWT_MAX_LIFETIME'],
    parse: p.duration(1_000, 365 * DAY),
    help: 'refuse tokens that live longer (exp - iat, or exp - now without iat; default 24h)',
  },
  {
    key: 'auth.anonymous',
    env: ['TETHER_AUTH_ANONYMOUS'],
    parse: p.bool,
    help: 'accept connections without a token as anonymous (default false)',
  },
  {
    key: 'auth.topicsClaim',
    env: ['TETHER_JWT_TOPICS_CLAIM'],
    parse: p.oneOf(['required', 'optional'] as const),
    help: 'required (default): tokens without a topics claim get only their own {sub} topics',
  },
  {
    key: 'api.key',
    flag: '--api-key',
    arg: '<key>',
    env: ['TETHER_API_KEY'],
    parse: p.str({ minLength: 16, what: 'an API key' }),
    help: 'key of the HTTP API /api/* (16+ characters; without it the API is off)',
  },
  {
    key: 'api.adminKey',
    flag: '--admin-key',
    arg: '<key>',
    env: ['TETHER_ADMIN_KEY'],
    parse: p.str({ minLength: 16, what: 'an admin key' }),
    help: 'key of /admin/* (16+ characters; without it admin is off)',
  },
  {
    key: 'api.opsKey',
    env: ['TETHER_OPS_KEY'],
    parse: p.str({ minLength: 16, what: 'an operations key' }),
    help: 'key of /stats, /metrics and /dashboard (16+ characters; they are closed without it once auth or a key is set, or off loopback)',
  },
  {
    key: 'ops.public',
    env: ['TETHER_OPS_PUBLIC'],
    parse: p.bool,
    help: 'serve /stats, /metrics and /dashboard without the ops key (default false; warns)',
  },
  {
    key: 'origins',
    env: ['TETHER_ORIGINS'],
    parse: p.list,
    help: 'allowed browser origins, comma-separated (default: any)',
  },
  {
    key: 'trustProxy',
    flag: '--trust-proxy',
    arg: '<list>',
    env: ['TETHER_TRUST_PROXY'],
    parse: p.proxies,
    help: 'your proxies (addresses/CIDRs, comma-separated): client IPs from their X-Forwarded-For',
  },
  {
    key: 'log.level',
    flag: '--log-level',
    arg: '<level>',
    env: ['TETHER_LOG_LEVEL'],
    parse: p.oneOf(LOG_LEVELS),
    help: 'fatal, error, warn, info (default), debug, trace or silent',
  },
  {
    key: 'dashboard',
    env: ['TETHER_DASHBOARD'],
    parse: p.bool,
    help: 'serve the dashboard at /dashboard (default true)',
  },
  {
    key: 'demo',
    env: ['TETHER_DEMO'],
    parse: p.bool,
    help: 'serve the demo page at / (default true)',
  },
  {
    key: 'backend.url',
    flag: '--backend-url',
    arg: '<url>',
    env: ['TETHER_BACKEND_URL'],
    parse: p.httpUrl,
    help: "your backend's base URL: client messages and requests are POSTed to it (docs/backend.md)",
  },
  {
    key: 'backend.secret',
    flag: '--backend-secret',
    arg: '<s>',
    env: ['TETHER_BACKEND_SECRET'],
    parse: p.str({ minLength: 32, what: 'an HMAC secret (32+ characters)' }),
    help: 'signs every backend request (X-Tether-Signature, HMAC-SHA256; 32+ characters)',
  },
  {
    key: 'backend.events',
    flag: '--backend-events',
    arg: '<list>',
    env: ['TETHER_BACKEND_EVENTS'],
    parse: p.subsetOf(BACKEND_EVENTS),
    help: 'events forwarded: message, request, connect, publish, subscribe, disconnect (default message,request)',
  },
  ...BACKEND_EVENTS.map(
    (event): FieldSpec => ({
      key: `backend.paths.${event}`,
      parse: p.urlPath,
      help: `path of ${event} calls (default /tether/${event})`,
    }),
  ),
  {
    key: 'backend.timeoutMs',
    env: ['TETHER_BACKEND_TIMEOUT'],
    parse: p.duration(100, 600_000),
    help: 'deadline of one backend request (default 10s)',
  },
  {
    key: 'backend.concurrency',
    env: ['TETHER_BACKEND_CONCURRENCY'],
    parse: p.int(1, 10_000),
    help: 'backend requests in flight at once, whole hub (default 64)',
  },
  {
    key: 'backend.retry.minDelayMs',
    env: ['TETHER_BACKEND_RETRY_MIN'],
    parse: p.duration(1, 3_600_000),
    help: 'first retry delay of a message the backend failed (default 200ms; full jitter, doubling)',
  },
  {
    key: 'backend.retry.maxDelayMs',
    env: ['TETHER_BACKEND_RETRY_MAX'],
    parse: p.duration(1, 3_600_000),
    help: 'largest retry delay of a message (default 10s)',
  },
];

/** Fields by config key (the first entry of a key; `--insecure` shares `auth.mode`). */
export const FIELD_BY_KEY: ReadonlyMap<string, FieldSpec> = (() => {
  const byKey = new Map<string, FieldSpec>();
  for (const field of FIELDS) if (!byKey.has(field.key)) byKey.set(field.key, field);
  return byKey;
})();

/** Fields by flag. */
export const FIELD_BY_FLAG: ReadonlyMap<string, FieldSpec> = new Map(
  FIELDS.filter((f) => f.flag !== undefined).map((f) => [f.flag as string, f]),
);
