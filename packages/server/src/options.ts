import type { IncomingMessage } from 'node:http';
import {
  type Clock,
  checkFn,
  checkInt,
  checkKnownKeys,
  isClock,
  OptionError,
  systemClock,
} from '@tether/common';
import { type Json, WIRE_LIMITS } from '@tether/protocol';
import type { TetherConnection } from './connection-types.js';
import { SERVER_DEFAULTS } from './defaults.js';
import { defaultLogger, type Logger } from './logger.js';
import type { StoreSpec } from './store/index.js';
import { resolveTrustedProxies, type TrustedProxies } from './trusted-proxies.js';

/** What an `authenticate` hook sees: the upgrade request and the token found in it. */
export interface AuthContext {
  /** The HTTP upgrade request (headers, url). */
  request: IncomingMessage;
  /**
   * The token, taken from (first found) the `Authorization: Bearer` header, the `?token=`
   * query parameter, or an offered `tether.auth.<base64url>` subprotocol.
   */
  token: string | undefined;
  /** Client IP address (see `trustProxy`). */
  ip: string;
  /** The `Origin` header, if any. */
  origin: string | undefined;
  /** The endpoint's path. */
  path: string;
  /**
   * True when the token came in an `auth` frame on an open connection (a refresh), not
   * with the upgrade; `request` is then the connection's original upgrade request.
   */
  refresh?: boolean;
}

/** An accepted connection's identity, as returned by `authenticate`. */
export interface AuthIdentity {
  /** The user this connection belongs to (shown in stats and logs). */
  user?: string;
  /** Anything else the application wants to keep with the connection. */
  data?: Readonly<Record<string, Json>>;
  /**
   * When the credentials expire (ms since the epoch, e.g. a JWT's `exp` × 1000). The server
   * then asks the client for a fresh token (`refresh`, `tokenRefreshLeadMs` before) and
   * closes the connection with 4002 if none arrives in time. An identity that has expired
   * already is refused with 4001. Absent: the connection never expires.
   */
  expiresAt?: number;
  /**
   * Data for the client, sent in its `welcome` (`data`) on every connection this identity
   * opens (the TypeScript client: `welcomeData` of its `open` event). Not kept with the connection's
   * `data`.
   */
  welcome?: Readonly<Record<string, Json>>;
}

/**
 * The result of `authenticate`: `true` or an identity accepts; `false`, `null` or
 * `undefined` refuses with 4001 (the hook fails closed). Throw an `AuthError` to choose
 * 4001 or 4003 and the reason; any other throw closes with 1011 and is logged as a fault.
 */
export type AuthResult = boolean | AuthIdentity | null | undefined;

/** What `authorizePublish` and `authorizeSubscribe` see. */
export interface TopicAuthContext {
  connection: TetherConnection;
  topic: string;
  /** The payload, for `authorizePublish`; undefined for `authorizeSubscribe`. */
  data?: Json;
}

/**
 * What a topic authorizer answers: `true` allows, `false` refuses (FORBIDDEN), `{ refuse:
 * reason }` refuses with that message, and `{ data }` (publish only) allows the
 * publication with `data` in place of what the client sent (a subscribe treats it as
 * `true`).
 */
export type TopicVerdict = boolean | { data: Json } | { refuse: string };

/** Decides whether a connection may publish to or subscribe to a topic. */
export type TopicAuthorizer = (context: TopicAuthContext) => TopicVerdict | Promise<TopicVerdict>;

/** Per-connection token bucket. */
export interface RateLimitOptions {
  /** Frames per second the bucket refills. Default {@link SERVER_DEFAULTS.ratePerSecond} (100). */
  perSecond?: number;
  /** Bucket size, the burst allowed at once. Default {@link SERVER_DEFAULTS.rateBurst} (200). */
  burst?: number;
  /**
   * Frames dropped (each answered with RATE_LIMITED) before the connection is closed with
   * 1008, unless the client backs off until its bucket is full again, which forgives it.
   * Default {@link SERVER_DEFAULTS.rateDropsBeforeClose} (100).
   */
  dropsBeforeClose?: number;
}

/** Options of one endpoint (`tether.endpoint(path, options)`). Every field is optional. */
export interface EndpointOptions {
  /** Heartbeat period (WebSocket ping + app `ping`). Default 25 000 ms. */
  heartbeatIntervalMs?: number;
  /** A connection silent for interval + this is terminated (4008). Default 10 000 ms. */
  heartbeatTimeoutMs?: number;
  /** Upgrade-to-hello deadline (4000), also the `authenticate` deadline. Default 10 000 ms. */
  handshakeTimeoutMs?: number;
  /** Largest WebSocket message accepted; larger closes with 1009. Default 65 536 bytes. */
  maxMessageBytes?: number;
  /** Most frames in one incoming batch. Default (and ceiling) 1000. */
  maxBatch?: number;
  /** Open connections per client IP; more get HTTP 429 with Retry-After. Default 100. */
  maxConnectionsPerIp?: number;
  /** Per-connection rate limit, or `false` for none. Default 100 frames/s, burst 200. */
  rateLimit?: RateLimitOptions | false;
  /**
   * Sessions one authenticated user (the `user` of `authenticate`) may hold on this
   * endpoint, connected or within their resume window. A new session beyond it evicts the
   * user's oldest session, a disconnected one first: its stored messages are dropped and,
   * if connected, its client gets `goodbye` and close 4013 (final). Anonymous connections
   * are not counted (`maxConnectionsPerIp` bounds them). Default 20.
   */
  maxSessionsPerUser?: number;
  /**
   * Requests of one connection accepted and not answered yet (running, or reliable ones
   * waiting their turn). One more gets a `res` error TOO_MANY_REQUESTS (a reliable one is
   * not processed or acked: the client sends it again later); the connection stays open.
   * Default 100.
   */
  maxPendingRequests?: number;
  /**
   * Allowed `Origin` values (exact match, `*` allows any), or a function deciding. Requests
   * without an Origin header (non-browser clients) pass an allowlist; a function sees
   * `undefined`. Default: any origin. Refusal: HTTP 403.
   */
  origins?: readonly string[] | ((origin: string | undefined, request: IncomingMessage) => boolean);
  /** Decides who may connect; see {@link AuthResult}. Default: everyone. */
  authenticate?: (context: AuthContext) => AuthResult | Promise<AuthResult>;
  /** Decides whether a client may `publish`. Default: nobody (FORBIDDEN). */
  authorizePublish?: TopicAuthorizer;
  /** Decides whether a client may `sub`. Default: everybody. */
  authorizeSubscribe?: TopicAuthorizer;
  /**
   * Bytes held for one client (the socket's unsent data plus the frames queued for the
   * next write) before it is closed as a slow consumer with 4009; it reconnects at once
   * and catches up by resume. The memory a stalled client costs stays under this plus one
   * message. Default 4 MiB (4 194 304 bytes).
   */
  slowConsumerBytes?: number;
  /**
   * How long a session survives a disconnect (announced in `welcome`): a client that
   * reconnects within it resumes, gets the messages it missed and keeps its sequence
   * numbers. Counted from the disconnect. Default 120 000 ms.
   */
  resumeWindowMs?: number;
  /**
   * Longest delay of the cumulative ack of processed client messages (acks are batched).
   * Default 100 ms.
   */
  ackDelayMs?: number;
  /** Processed client messages after which the ack goes out without waiting. Default 50. */
  ackEvery?: number;
  /** Time a client has to answer a server close frame before its socket is destroyed. Default 5000 ms. */
  closeGraceMs?: number;
  /**
   * How long before a connection's token expires (see `AuthIdentity.expiresAt`) the
   * server sends `refresh`, capped at half the remaining lifetime. Default 30 000 ms.
   */
  tokenRefreshLeadMs?: number;
}

/** Endpoint options with every default applied and every value checked. */
export interface ResolvedEndpointOptions {
  heartbeatIntervalMs: number;
  heartbeatTimeoutMs: number;
  handshakeTimeoutMs: number;
  maxMessageBytes: number;
  maxBatch: number;
  maxConnectionsPerIp: number;
  rateLimit: Required<RateLimitOptions> | false;
  maxSessionsPerUser: number;
  maxPendingRequests: number;
  originAllowed: (origin: string | undefined, request: IncomingMessage) => boolean;
  authenticate: ((context: AuthContext) => AuthResult | Promise<AuthResult>) | undefined;
  authorizePublish: TopicAuthorizer | undefined;
  authorizeSubscribe: TopicAuthorizer | undefined;
  slowConsumerBytes: number;
  resumeWindowMs: number;
  ackDelayMs: number;
  ackEvery: number;
  closeGraceMs: number;
  tokenRefreshLeadMs: number;
}

const ENDPOINT_KEYS = [
  'heartbeatIntervalMs',
  'heartbeatTimeoutMs',
  'handshakeTimeoutMs',
  'maxMessageBytes',
  'maxBatch',
  'maxConnectionsPerIp',
  'rateLimit',
  'maxSessionsPerUser',
  'maxPendingRequests',
  'origins',
  'authenticate',
  'authorizePublish',
  'authorizeSubscribe',
  'slowConsumerBytes',
  'resumeWindowMs',
  'ackDelayMs',
  'ackEvery',
  'closeGraceMs',
  'tokenRefreshLeadMs',
] as const satisfies readonly (keyof EndpointOptions)[];

const DAY_MS = 86_400_000;

/** Applies defaults and validates; throws an `OptionError` naming the option. */
export function resolveEndpointOptions(options: EndpointOptions = {}): ResolvedEndpointOptions {
  checkKnownKeys('endpoint', options, ENDPOINT_KEYS);
  const d = SERVER_DEFAULTS;
  const int = (
    name: keyof EndpointOptions,
    value: number | undefined,
    fallback: number,
    min: number,
    max?: number,
  ) => checkInt(name, value ?? fallback, min, max);
  return {
    heartbeatIntervalMs: int(
      'heartbeatIntervalMs',
      options.heartbeatIntervalMs,
      d.heartbeatIntervalMs,
      10,
      DAY_MS,
    ),
    heartbeatTimeoutMs: int(
      'heartbeatTimeoutMs',
      options.heartbeatTimeoutMs,
      d.heartbeatTimeoutMs,
      10,
      DAY_MS,
    ),
    handshakeTimeoutMs: int(
      'handshakeTimeoutMs',
      options.handshakeTimeoutMs,
      d.handshakeTimeoutMs,
      10,
      DAY_MS,
    ),
    // A hello must fit: 256 bytes is far below any sane limit and far above a hello.
    maxMessageBytes: int(
      'maxMessageBytes',
      options.maxMessageBytes,
      d.maxMessageBytes,
      256,
      2 ** 30,
    ),
    maxBatch: int('maxBatch', options.maxBatch, d.maxBatch, 1, WIRE_LIMITS.maxBatch),
    maxConnectionsPerIp: int(
      'maxConnectionsPerIp',
      options.maxConnectionsPerIp,
      d.maxConnectionsPerIp,
      1,
    ),
    rateLimit: resolveRateLimit(options.rateLimit),
    maxSessionsPerUser: int(
      'maxSessionsPerUser',
      options.maxSessionsPerUser,
      d.maxSessionsPerUser,
      1,
      1_000_000,
    ),
    maxPendingRequests: int(
      'maxPendingRequests',
      options.maxPendingRequests,
      d.maxPendingRequests,
      1,
      1_000_000,
    ),
    originAllowed: resolveOrigins(options.origins),
    authenticate: optionalFn('authenticate', options.authenticate),
    authorizePublish: optionalFn('authorizePublish', options.authorizePublish),
    authorizeSubscribe: optionalFn('authorizeSubscribe', options.authorizeSubscribe),
    slowConsumerBytes: int(
      'slowConsumerBytes',
      options.slowConsumerBytes,
      d.slowConsumerBytes,
      1024,
    ),
    resumeWindowMs: int('resumeWindowMs', options.resumeWindowMs, d.resumeWindowMs, 0, 30 * DAY_MS),
    ackDelayMs: int('ackDelayMs', options.ackDelayMs, d.ackDelayMs, 0, 60_000),
    ackEvery: int('ackEvery', options.ackEvery, d.ackEvery, 1, 1_000_000),
    closeGraceMs: int('closeGraceMs', options.closeGraceMs, d.closeGraceMs, 1, DAY_MS),
    tokenRefreshLeadMs: int(
      'tokenRefreshLeadMs',
      options.tokenRefreshLeadMs,
      d.tokenRefreshLeadMs,
      0,
      DAY_MS,
    ),
  };
}

function optionalFn<T>(name: string, value: T | undefined): T | undefined {
  return value === undefined ? undefined : checkFn(name, value);
}

function resolveRateLimit(
  value: RateLimitOptions | false | undefined,
): Required<RateLimitOptions> | false {
  if (value === false) return false;
  if (value !== undefined && (typeof value !== 'object' || value === null)) {
    throw new OptionError('rateLimit', `expected an object or false, got ${String(value)}`);
  }
  const given = value ?? {};
  checkKnownKeys('rateLimit', given, ['perSecond', 'burst', 'dropsBeforeClose']);
  return {
    perSecond: checkInt('rateLimit.perSecond', given.perSecond ?? SERVER_DEFAULTS.ratePerSecond, 1),
    burst: checkInt('rateLimit.burst', given.burst ?? SERVER_DEFAULTS.rateBurst, 1),
    dropsBeforeClose: checkInt(
      'rateLimit.dropsBeforeClose',
      given.dropsBeforeClose ?? SERVER_DEFAULTS.rateDropsBeforeClose,
      1,
    ),
  };
}

function resolveOrigins(
  value: EndpointOptions['origins'],
): ResolvedEndpointOptions['originAllowed'] {
  if (value === undefined) return () => true;
  if (typeof value === 'function') return value;
  if (!Array.isArray(value) || value.some((o) => typeof o !== 'string' || o.length === 0)) {
    throw new OptionError(
      'origins',
      'expected an array of origins (e.g. "https://app.example.com") or a function',
    );
  }
  if (value.includes('*')) return () => true;
  const allowed = new Set(value.map((o) => o.toLowerCase()));
  return (origin) => origin === undefined || allowed.has(origin.toLowerCase());
}

/** Options of `new TetherServer(options)`. Every field is optional. */
export interface TetherServerOptions {
  /**
   * An existing HTTP(S) server to attach to (plain Node, Express's `app.listen()`, Fastify's
   * `fastify.server`). Without it, the server runs standalone and `listen()` starts its own.
   */
  server?: import('node:http').Server | import('node:https').Server;
  /** Standalone mode: port. Default 8080. 0 picks a free port (see `address()`). */
  port?: number;
  /** Standalone mode: interface. Default `0.0.0.0`. */
  host?: string;
  /** Logger (pino or compatible). Default: pino at `info`, silent under a test runner. */
  logger?: Logger;
  /** Time source for heartbeats, limits and timestamps. Default: the system clock. */
  clock?: Clock;
  /**
   * The proxies you run, as IPv4/IPv6 addresses and CIDR ranges (`["127.0.0.1",
   * "10.0.0.0/8", "::1"]`). When the socket peer is one of them, the client IP is the
   * rightmost `X-Forwarded-For` entry that is not (entries further left are written by
   * the client and may be forged); an entry that is not an IP ends the walk at the last
   * trusted hop. Default `[]` (also `false`): the socket's address. `true` is refused.
   */
  trustProxy?: readonly string[] | false;
  /** Default of `close({ drainTimeoutMs })`. Default 10 000 ms. */
  drainTimeoutMs?: number;
  /**
   * Standalone mode: time a client has to send complete request headers before it gets
   * 408 and is cut (also before a WebSocket upgrade). Default 10 000 ms. With `server`,
   * set `headersTimeout` on your own server instead.
   */
  headersTimeoutMs?: number;
  /** Standalone mode: time to receive a whole request (≥ `headersTimeoutMs`). Default 10 000 ms. */
  requestTimeoutMs?: number;
  /**
   * Where sessions, their unacknowledged messages and topic histories live:
   * - `'memory'` (default): in this process; lost on restart (resumes then get
   *   `resumed: false, reason: 'unknown'` and topics start a new epoch);
   * - `'sqlite:PATH'`: a SQLite file that survives a restart and a SIGKILL;
   * - `{ kind: 'memory' | 'sqlite', ...retention options }`;
   * - a `Store` object (the application owns it and closes it after the server).
   *
   * A store built from a string or `{ kind }` is owned by the server: `close()` closes
   * it. See docs/guarantees.md for what each mode promises.
   */
  store?: StoreSpec;
}

/** Server options with defaults applied. */
export interface ResolvedServerOptions {
  server: import('node:http').Server | import('node:https').Server | undefined;
  port: number;
  host: string;
  logger: Logger;
  clock: Clock;
  trustProxy: TrustedProxies;
  drainTimeoutMs: number;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  store: StoreSpec;
}

const SERVER_KEYS = [
  'server',
  'port',
  'host',
  'logger',
  'clock',
  'trustProxy',
  'drainTimeoutMs',
  'headersTimeoutMs',
  'requestTimeoutMs',
  'store',
] as const satisfies readonly (keyof TetherServerOptions)[];

/** Applies defaults and validates; throws an `OptionError` naming the option. */
export function resolveServerOptions(options: TetherServerOptions = {}): ResolvedServerOptions {
  checkKnownKeys('TetherServer', options, SERVER_KEYS);
  if (options.server !== undefined && (options.port !== undefined || options.host !== undefined)) {
    throw new OptionError(
      'server',
      'pass either an existing server or port/host for a standalone server, not both (the attached server decides where it listens)',
    );
  }
  for (const name of ['headersTimeoutMs', 'requestTimeoutMs'] as const) {
    if (options.server !== undefined && options[name] !== undefined) {
      throw new OptionError(
        name,
        'applies to the standalone server only; set headersTimeout/requestTimeout on the server you pass',
      );
    }
  }
  const headersTimeoutMs = checkInt(
    'headersTimeoutMs',
    options.headersTimeoutMs ?? SERVER_DEFAULTS.headersTimeoutMs,
    100,
    DAY_MS,
  );
  const requestTimeoutMs = checkInt(
    'requestTimeoutMs',
    options.requestTimeoutMs ?? SERVER_DEFAULTS.requestTimeoutMs,
    100,
    DAY_MS,
  );
  if (requestTimeoutMs < headersTimeoutMs) {
    throw new OptionError(
      'requestTimeoutMs',
      `must be at least headersTimeoutMs (${headersTimeoutMs}), got ${requestTimeoutMs}`,
    );
  }
  const server = options.server;
  if (server !== undefined && (typeof server !== 'object' || typeof server.on !== 'function')) {
    throw new OptionError('server', 'expected a node:http or node:https Server');
  }
  const host = options.host ?? SERVER_DEFAULTS.host;
  if (typeof host !== 'string' || host.length === 0) {
    throw new OptionError('host', `expected a non-empty string, got ${String(options.host)}`);
  }
  const logger = options.logger ?? defaultLogger();
  for (const method of ['debug', 'info', 'warn', 'error', 'child'] as const) {
    if (typeof logger[method] !== 'function') {
      throw new OptionError('logger', `expected a pino-compatible logger (missing ${method}())`);
    }
  }
  const clock = options.clock ?? systemClock;
  if (!isClock(clock)) {
    throw new OptionError('clock', 'expected a Clock (now, monotonic, setTimeout, clearTimeout)');
  }
  return {
    server,
    port: checkInt('port', options.port ?? SERVER_DEFAULTS.port, 0, 65_535),
    host,
    logger,
    clock,
    trustProxy: resolveTrustedProxies(options.trustProxy),
    drainTimeoutMs: checkInt(
      'drainTimeoutMs',
      options.drainTimeoutMs ?? SERVER_DEFAULTS.drainTimeoutMs,
      0,
      DAY_MS,
    ),
    headersTimeoutMs,
    requestTimeoutMs,
    store: options.store ?? 'memory',
  };
}
