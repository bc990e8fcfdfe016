/**
 * Every default of the client, in one place. DESIGN.md fixes the reconnect and
 * breaker numbers; change them only with a reason written in docs/client.md.
 */
export const CLIENT_DEFAULTS = {
  /** Connect at construction; `false` waits for `connect()`. */
  autoConnect: true,
  /** 0.5 s: the smallest delay before a reconnect (full jitter floor). */
  minReconnectDelayMs: 500,
  /** 30 s: the largest delay before a reconnect (full jitter ceiling cap). */
  maxReconnectDelayMs: 30_000,
  /** The jitter ceiling doubles with each reconnect in a row. */
  reconnectFactor: 2,
  /**
   * 5 s: a connection counts as stable, and the reconnect counter resets, only
   * after this much uptime, so a server that accepts and drops at once still
   * meets a growing backoff.
   */
  minUptimeMs: 5_000,
  /** Reconnect attempts in a row without a stable connection before giving up: unlimited. */
  maxAttempts: Number.POSITIVE_INFINITY,
  /**
   * A server hint (`retryAfter`) is spread over `[hint, hint + max(minReconnectDelayMs,
   * hint * retryAfterSpread)]`, so the clients of a restarted server come back over a window.
   */
  retryAfterSpread: 1,
  /** The circuit opens after 5 consecutive failed attempts (0 disables the breaker). */
  breakerThreshold: 5,
  /**
   * 3 attempts in a row whose socket never opened raise one `unreachable` event: a
   * browser cannot read the HTTP status of a refused upgrade (404, 403), so this is
   * how a wrong URL or a refused origin shows up instead of silent retries.
   */
  unreachableAfter: 3,
  /** 60 s: how long the circuit stays open before a single probe attempt. */
  breakerCooldownMs: 60_000,
  /** 10 s: socket open plus `welcome`; an attempt that takes longer is abandoned (4012). */
  connectTimeoutMs: 10_000,
  /** 30 s: default deadline of `request()`. */
  requestTimeoutMs: 30_000,
  /** Outbox bound by count: unacknowledged messages plus unsent requests. */
  maxQueue: 1_000,
  /** Outbox bound by encoded bytes (1 MiB). */
  maxQueueBytes: 1024 * 1024,
  /** Server messages with `seq` are acknowledged in batches: after this delay... */
  ackDelayMs: 100,
  /** ...or as soon as this many are unacknowledged, whichever comes first. */
  ackEvery: 32,
  /**
   * 10 s: reliable frames written but not acknowledged for this long are
   * written again, in order (the server deduplicates by `seq`), so a frame
   * the server dropped without saying so does not stall the stream until the
   * next reconnect.
   */
  ackTimeoutMs: 10_000,
  /**
   * 1 s: after the server drops a reliable frame or a subscribe with
   * RATE_LIMITED, the client pauses its outbox this long, then sends again
   * from the dropped frame.
   */
  rateLimitedRetryMs: 1_000,
  /** 1 s: `close()` waits this long for the close handshake before cutting the socket. */
  closeTimeoutMs: 1_000,
  /** How the token travels: the `tether.auth.*` subprotocol works in browsers and Node alike. */
  authVia: 'subprotocol' as 'subprotocol' | 'header',
  /**
   * Carry `hello` in the upgrade (the `tether.v1.early` and `tether.hello.*` subprotocols):
   * a server that takes it answers with `welcome` right after the upgrade, one round trip
   * sooner; one that does not gets the `hello` frame as before.
   */
  earlyHello: true,
  /** Messages buffered per `messages()` / `states()` iterator before it fails with ITERATOR_OVERFLOW. */
  iteratorBufferSize: 1_000,
} as const;
