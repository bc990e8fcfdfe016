/**
 * Protocol-level defaults that server and client share. Change only with a
 * reason written in docs/configuration.md.
 */
export const PROTOCOL_DEFAULTS = {
  /**
   * 25 s: under the 30 s idle cut of some load balancers and well under the
   * 60 s of nginx's `proxy_read_timeout` and common cloud proxies.
   */
  heartbeatIntervalMs: 25_000,
  /** 10 s: a peer silent for interval + timeout (35 s) is treated as dead. */
  heartbeatTimeoutMs: 10_000,
  /** 120 s: how long a session (and its unacked messages) survives a disconnect. */
  resumeWindowMs: 120_000,
  /** 64 KiB: the largest WebSocket message accepted. */
  maxMessageBytes: 64 * 1024,
} as const;
