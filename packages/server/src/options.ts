import type { IncomingMessage } from 'node:http';
import { checkFn, checkInt, checkKnownKeys, OptionError } from '@tether/common';
import { type Json, WIRE_LIMITS } from '@tether/protocol';
import type { TetherConnection } from './connection-types.js';
import { SERVER_DEFAULTS } from './defaults.js';

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
   * Most bytes one replay page reads from the store (topic catch-up and the session
   * replay of a resume); a page always holds at least one item. A connection reads one
   * page at a time, once what it holds for the client is under a page. Default 256 KiB
   * (262 144 bytes).
   */
  replayPageBytes?: number;
  /**
   * Topics one connection may be subscribed to at once; the `sub` past it gets an error
   * TOO_MANY_SUBSCRIPTIONS and nothing is read or written. Default 1000.
   */
  maxSubscriptionsPerConnection?: number;
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
  replayPageBytes: number;
  maxSubscriptionsPerConnection: number;
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
  'replayPageBytes',
  'maxSubscriptionsPerConnection',
  'resumeWindowMs',
  'ackDelayMs',
  'ackEvery',
  'closeGraceMs',
  'tokenRefreshLeadMs',
] as const satisfies readonly (keyof EndpointOptions)[];

export const DAY_MS = 86_400_000;

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
    replayPageBytes: int(
      'replayPageBytes',
      options.replayPageBytes,
      d.replayPageBytes,
      1024,
      2 ** 30,
    ),
    maxSubscriptionsPerConnection: int(
      'maxSubscriptionsPerConnection',
      options.maxSubscriptionsPerConnection,
      d.maxSubscriptionsPerConnection,
      1,
      1_000_000,
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
