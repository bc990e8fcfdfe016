import {
  type Clock,
  checkBool,
  checkFn,
  checkInt,
  checkKnownKeys,
  checkNumber,
  OptionError,
  systemClock,
} from '@tether/common';
import { type Json, MIN_PEER_MESSAGE_BYTES } from '@tether/protocol';
import { CLIENT_DEFAULTS } from './defaults.js';
import { type ClientEnvironment, defaultEnvironment } from './environment.js';
import type { ReconnectDelayFn } from './reconnect-policy.js';
import type { WebSocketConstructor } from './socket.js';

/** A token, or a function that returns one (called on every connect, so expiring tokens refresh). */
export type TokenSource = string | (() => string | Promise<string>);

/** Answers a `req` the server sends to the client. Throw to answer `ok: false` (HANDLER_ERROR). */
export type RequestHandler = (method: string, data: Json | undefined) => Json | Promise<Json>;

/** Options of `new TetherClient(url, options)`. Every one is optional; defaults in {@link CLIENT_DEFAULTS}. */
export interface TetherClientOptions {
  /** WebSocket constructor. Default `globalThis.WebSocket`; in Node 20 pass `ws`'s `WebSocket`. */
  WebSocket?: WebSocketConstructor;
  /** Auth token or token provider, resolved before every connection attempt. */
  token?: TokenSource;
  /**
   * How the token travels. `subprotocol` (default): an extra offered subprotocol
   * `tether.auth.<base64url>`, which works everywhere. `header`:
   * `Authorization: Bearer <token>`, only with implementations that accept
   * handshake headers (`ws`); browsers cannot.
   */
  authVia?: 'subprotocol' | 'header';
  /**
   * Carry `hello` in the upgrade as the offered subprotocols `tether.v1.early` and
   * `tether.hello.<base64url(hello)>`: a server that takes it sends `welcome` right after
   * the upgrade, so the connection is ready one round trip sooner; other servers get the
   * `hello` frame as before. Turn off where something between client and server refuses
   * long `Sec-WebSocket-Protocol` headers. Default true.
   */
  earlyHello?: boolean;
  /** Connect at construction. Default true. */
  autoConnect?: boolean;
  /** Smallest reconnect delay, ms. Default 500. */
  minReconnectDelayMs?: number;
  /** Largest reconnect delay, ms. Default 30000. */
  maxReconnectDelayMs?: number;
  /** Growth of the jitter ceiling per attempt in a row. Default 2. */
  reconnectFactor?: number;
  /** Uptime after which a connection counts as stable and the counters reset, ms. Default 5000. */
  minUptimeMs?: number;
  /** Reconnect attempts in a row without a stable connection before giving up. Default unlimited. */
  maxAttempts?: number;
  /** Your own delay policy; sees the built-in suggestion. */
  reconnectDelay?: ReconnectDelayFn;
  /** Width of the jitter window after a server hint, relative to the hint. Default 1. */
  retryAfterSpread?: number;
  /** Failed attempts in a row that open the circuit; 0 disables the breaker. Default 5. */
  breakerThreshold?: number;
  /**
   * Attempts in a row whose socket never opened before one `unreachable` event;
   * 0 never reports. Default 3.
   */
  unreachableAfter?: number;
  /** How long the circuit stays open before one probe, ms. Default 60000. */
  breakerCooldownMs?: number;
  /** Deadline for socket open plus `welcome`, ms. Default 10000. */
  connectTimeoutMs?: number;
  /** Default deadline of `request()`, ms. Default 30000. */
  requestTimeoutMs?: number;
  /** Outbox bound by count. Default 1000. */
  maxQueue?: number;
  /** Outbox bound by bytes. Default 1 MiB. */
  maxQueueBytes?: number;
  /** Longest delay before acknowledging server messages, ms. Default 100. */
  ackDelayMs?: number;
  /** Acknowledge at once when this many server messages are unacknowledged. Default 32. */
  ackEvery?: number;
  /** Resend reliable frames the server has not acknowledged for this long, ms. Default 10000. */
  ackTimeoutMs?: number;
  /** Pause before sending again what the server dropped with RATE_LIMITED, ms. Default 1000. */
  rateLimitedRetryMs?: number;
  /** How long `close()` waits for the close handshake before cutting the socket, ms. Default 1000. */
  closeTimeoutMs?: number;
  /** Items buffered per async iterator. Default 1000. */
  iteratorBufferSize?: number;
  /** Network and visibility signals. Default: the browser's, or always-online in Node. */
  environment?: ClientEnvironment;
  /** Time source. Default the system clock (timers unref'ed). */
  clock?: Clock;
  /** Random source for jitter, in [0, 1). Default `Math.random`. */
  random?: () => number;
  /** Sent in `hello.client`, for the server's logs. */
  clientName?: string;
  clientVersion?: string;
  /** Handles requests the server sends; without it they are answered NO_HANDLER. */
  onRequest?: RequestHandler;
  /**
   * The largest message (UTF-8 bytes) this client accepts, at least 1024, sent in
   * `hello.maxMessageBytes`: the server then never sends a larger one (batches and
   * replays are cut to fit; a frame that cannot fit arrives as an `error` TOO_BIG).
   * Default: not stated (the server's own limit applies).
   */
  maxMessageBytes?: number;
}

/** Options after validation, with every default applied. */
export interface ResolvedOptions {
  WebSocket: WebSocketConstructor;
  token: TokenSource | undefined;
  authVia: 'subprotocol' | 'header';
  earlyHello: boolean;
  autoConnect: boolean;
  minReconnectDelayMs: number;
  maxReconnectDelayMs: number;
  reconnectFactor: number;
  minUptimeMs: number;
  maxAttempts: number;
  reconnectDelay: ReconnectDelayFn | undefined;
  retryAfterSpread: number;
  breakerThreshold: number;
  unreachableAfter: number;
  breakerCooldownMs: number;
  connectTimeoutMs: number;
  requestTimeoutMs: number;
  maxQueue: number;
  maxQueueBytes: number;
  ackDelayMs: number;
  ackEvery: number;
  ackTimeoutMs: number;
  rateLimitedRetryMs: number;
  closeTimeoutMs: number;
  iteratorBufferSize: number;
  environment: ClientEnvironment;
  clock: Clock;
  random: () => number;
  client: { name?: string; version?: string } | undefined;
  onRequest: RequestHandler | undefined;
  maxMessageBytes: number | undefined;
}

const KNOWN_OPTIONS = [
  'WebSocket',
  'token',
  'authVia',
  'earlyHello',
  'autoConnect',
  'minReconnectDelayMs',
  'maxReconnectDelayMs',
  'reconnectFactor',
  'minUptimeMs',
  'maxAttempts',
  'reconnectDelay',
  'retryAfterSpread',
  'breakerThreshold',
  'unreachableAfter',
  'breakerCooldownMs',
  'connectTimeoutMs',
  'requestTimeoutMs',
  'maxQueue',
  'maxQueueBytes',
  'ackDelayMs',
  'ackEvery',
  'ackTimeoutMs',
  'rateLimitedRetryMs',
  'closeTimeoutMs',
  'iteratorBufferSize',
  'environment',
  'clock',
  'random',
  'clientName',
  'clientVersion',
  'onRequest',
  'maxMessageBytes',
] as const;

const D = CLIENT_DEFAULTS;
const HOUR = 3_600_000;

function optionalString(name: string, value: string | undefined): string | undefined {
  if (
    value !== undefined &&
    (typeof value !== 'string' || value.length === 0 || value.length > 128)
  ) {
    throw new OptionError(name, 'expected a string of 1-128 characters');
  }
  return value;
}

/** Validates `options`; every error names the option. */
export function resolveOptions(options: TetherClientOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) {
    throw new OptionError('options', 'expected an object');
  }
  checkKnownKeys('options', options, KNOWN_OPTIONS);
  const o = options;
  const WebSocket = o.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (typeof WebSocket !== 'function') {
    throw new OptionError(
      'WebSocket',
      'no WebSocket implementation: globalThis.WebSocket is missing (Node < 22); pass { WebSocket } from the "ws" package',
    );
  }
  if (o.token !== undefined && typeof o.token !== 'string' && typeof o.token !== 'function') {
    throw new OptionError(
      'token',
      'expected a string or a function returning a string or a promise of one',
    );
  }
  const authVia = o.authVia ?? D.authVia;
  if (authVia !== 'subprotocol' && authVia !== 'header') {
    throw new OptionError('authVia', `expected "subprotocol" or "header", got ${String(authVia)}`);
  }
  const minDelay = checkInt(
    'minReconnectDelayMs',
    o.minReconnectDelayMs ?? D.minReconnectDelayMs,
    0,
    HOUR,
  );
  const maxDelay = checkInt(
    'maxReconnectDelayMs',
    o.maxReconnectDelayMs ?? D.maxReconnectDelayMs,
    0,
    24 * HOUR,
  );
  if (maxDelay < minDelay) {
    throw new OptionError(
      'maxReconnectDelayMs',
      `must be >= minReconnectDelayMs (${minDelay}), got ${maxDelay}`,
    );
  }
  const maxAttempts = o.maxAttempts ?? D.maxAttempts;
  if (maxAttempts !== Number.POSITIVE_INFINITY) checkInt('maxAttempts', maxAttempts, 1);
  const environment = o.environment ?? defaultEnvironment();
  if (typeof environment !== 'object' || typeof environment.addEventListener !== 'function') {
    throw new OptionError(
      'environment',
      'expected { onLine, visible, addEventListener, removeEventListener }',
    );
  }
  const clock = o.clock ?? systemClock;
  if (typeof clock !== 'object' || typeof clock.setTimeout !== 'function') {
    throw new OptionError('clock', 'expected a Clock (now, monotonic, setTimeout, clearTimeout)');
  }
  const name = optionalString('clientName', o.clientName);
  const version = optionalString('clientVersion', o.clientVersion);
  return {
    WebSocket,
    token: o.token,
    authVia,
    earlyHello: checkBool('earlyHello', o.earlyHello ?? D.earlyHello),
    autoConnect: checkBool('autoConnect', o.autoConnect ?? D.autoConnect),
    minReconnectDelayMs: minDelay,
    maxReconnectDelayMs: maxDelay,
    reconnectFactor: checkNumber('reconnectFactor', o.reconnectFactor ?? D.reconnectFactor, 1, 10),
    minUptimeMs: checkInt('minUptimeMs', o.minUptimeMs ?? D.minUptimeMs, 0, HOUR),
    maxAttempts,
    reconnectDelay:
      o.reconnectDelay === undefined ? undefined : checkFn('reconnectDelay', o.reconnectDelay),
    retryAfterSpread: checkNumber(
      'retryAfterSpread',
      o.retryAfterSpread ?? D.retryAfterSpread,
      0,
      100,
    ),
    breakerThreshold: checkInt('breakerThreshold', o.breakerThreshold ?? D.breakerThreshold, 0),
    unreachableAfter: checkInt('unreachableAfter', o.unreachableAfter ?? D.unreachableAfter, 0),
    breakerCooldownMs: checkInt(
      'breakerCooldownMs',
      o.breakerCooldownMs ?? D.breakerCooldownMs,
      0,
      24 * HOUR,
    ),
    connectTimeoutMs: checkInt(
      'connectTimeoutMs',
      o.connectTimeoutMs ?? D.connectTimeoutMs,
      1,
      HOUR,
    ),
    requestTimeoutMs: checkInt(
      'requestTimeoutMs',
      o.requestTimeoutMs ?? D.requestTimeoutMs,
      1,
      24 * HOUR,
    ),
    maxQueue: checkInt('maxQueue', o.maxQueue ?? D.maxQueue, 1),
    maxQueueBytes: checkInt('maxQueueBytes', o.maxQueueBytes ?? D.maxQueueBytes, 1),
    ackDelayMs: checkInt('ackDelayMs', o.ackDelayMs ?? D.ackDelayMs, 0, 60_000),
    ackEvery: checkInt('ackEvery', o.ackEvery ?? D.ackEvery, 1),
    ackTimeoutMs: checkInt('ackTimeoutMs', o.ackTimeoutMs ?? D.ackTimeoutMs, 100, HOUR),
    rateLimitedRetryMs: checkInt(
      'rateLimitedRetryMs',
      o.rateLimitedRetryMs ?? D.rateLimitedRetryMs,
      0,
      HOUR,
    ),
    closeTimeoutMs: checkInt('closeTimeoutMs', o.closeTimeoutMs ?? D.closeTimeoutMs, 0, 60_000),
    iteratorBufferSize: checkInt(
      'iteratorBufferSize',
      o.iteratorBufferSize ?? D.iteratorBufferSize,
      1,
    ),
    environment,
    clock,
    random: o.random === undefined ? Math.random : checkFn('random', o.random),
    client: name === undefined && version === undefined ? undefined : { name, version },
    onRequest: o.onRequest === undefined ? undefined : checkFn('onRequest', o.onRequest),
    maxMessageBytes:
      o.maxMessageBytes === undefined
        ? undefined
        : checkInt('maxMessageBytes', o.maxMessageBytes, MIN_PEER_MESSAGE_BYTES),
  };
}
