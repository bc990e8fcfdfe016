import { PROTOCOL_DEFAULTS, WIRE_LIMITS } from '@tether/protocol';

/**
 * Every default of the server in one place. Change one only with a reason
 * written in docs/configuration.md. Values follow /work/shared/DESIGN.md.
 */
export const SERVER_DEFAULTS = {
  /** Standalone mode: port to listen on. */
  port: 8080,
  /** Standalone mode: interface to bind (all IPv4 interfaces; the hub is meant to be reached). */
  host: '0.0.0.0',

  /**
   * 25 s between heartbeats (a WebSocket ping and an app `ping` frame): under the
   * 30 s idle cut of some load balancers and the 60 s of nginx and common cloud proxies.
   */
  heartbeatIntervalMs: PROTOCOL_DEFAULTS.heartbeatIntervalMs,
  /** 10 s: a connection silent for interval + timeout (35 s) is treated as dead (half-open). */
  heartbeatTimeoutMs: PROTOCOL_DEFAULTS.heartbeatTimeoutMs,
  /**
   * 10 s from the upgrade to the client's `hello` (and, before the upgrade, for the
   * `authenticate` hook to answer). A socket that upgrades and says nothing is closed with 4000.
   */
  handshakeTimeoutMs: 10_000,
  /** 64 KiB: the largest WebSocket message accepted; larger ones close the connection with 1009. */
  maxMessageBytes: PROTOCOL_DEFAULTS.maxMessageBytes,
  /** Most frames accepted in one batch (the wire ceiling). */
  maxBatch: WIRE_LIMITS.maxBatch,
  /** Open connections allowed from one IP address per endpoint; more are refused with HTTP 429. */
  maxConnectionsPerIp: 100,
  /** Token bucket refill: frames per second each connection may send. */
  ratePerSecond: 100,
  /** Token bucket size: the burst a connection may send at once. */
  rateBurst: 200,
  /**
   * Frames dropped with RATE_LIMITED (without the client backing off long enough for its
   * bucket to refill) before the connection is closed with 1008.
   */
  rateDropsBeforeClose: 100,
  /**
   * Sessions one authenticated user may hold on an endpoint, connected or resumable; a new
   * one evicts the oldest (disconnected ones first; a connected one is closed with 4013).
   * 20 covers a person's tabs and devices (a reloaded tab leaves a resumable session
   * behind for the resume window) while a churning token holds 20 sessions, not thousands,
   * and one `sendToUser` stores at most 20 copies.
   */
  maxSessionsPerUser: 20,
  /**
   * Requests (`req`) of one connection accepted and not answered yet, running or waiting
   * their turn; one more is answered TOO_MANY_REQUESTS. Each holds its frame (up to
   * `maxMessageBytes`), so 100 bounds a connection's waiting requests to about 6.4 MiB,
   * while a page that fans out a few dozen calls at once never meets it.
   */
  maxPendingRequests: 100,
  /** 120 s: how long a session survives a disconnect (announced in `welcome`). */
  resumeWindowMs: PROTOCOL_DEFAULTS.resumeWindowMs,
  /**
   * 4 MiB held for one client (the socket's unsent `bufferedAmount` plus the frames queued
   * for the next write) before it counts as a slow consumer and is closed with 4009 (it
   * reconnects at once and catches up by resume, losing nothing). Raised from 1 MiB with
   * durable delivery: the check now includes the server's own queue, so a burst of
   * publications within one event-loop turn counts too, and 4 MiB lets a healthy client
   * take a burst of a few thousand typical publications, while 1,000 stalled clients
   * still cost at most 4 GiB. See docs/guarantees.md.
   */
  slowConsumerBytes: 4 * 1024 * 1024,
  /**
   * 100 ms: the longest an ack of a processed client message waits to share its frame with
   * later ones (the protocol's "short delay"); a count of {@link ackEvery} sends at once.
   */
  ackDelayMs: 100,
  /** 50 processed client messages not acked yet send the ack at the next write. */
  ackEvery: 50,
  /**
   * Messages or publications read from the store per step of a replay. A replay goes out
   * page by page as the socket drains, so catching up never trips the slow-consumer limit.
   */
  replayPageSize: 500,
  /**
   * 256 KiB: the most bytes of messages or publications one replay page reads from the
   * store (a page always holds one item, however large). A connection reads one page at a
   * time, and the next only once what it holds for the client is under a page again, so
   * a client that asks for a whole history and stops reading holds about one page in the
   * server: 1,000 such connections cost about 256 MiB, not their histories. Four 64 KiB
   * messages, so a reading client still gets large writes.
   */
  replayPageBytes: 256 * 1024,
  /**
   * Topics one connection may be subscribed to at once; the next `sub` gets
   * TOO_MANY_SUBSCRIPTIONS. 1,000 is far above what one screen of an app shows, and keeps
   * one connection from registering topics by the hundred thousand.
   */
  maxSubscriptionsPerConnection: 1000,
  /**
   * Answers of a session's reliable frames kept in memory (a reliable publish's position, a
   * final refusal), so that a frame resent after its answer was lost with the connection
   * gets the same answer again. 1,000 covers far more than a client has in flight (its
   * outbox resends what is unanswered right after the resume) at about 100 bytes each.
   */
  sessionMaxAnswers: 1_000,
  /** 10 s between passes that forget disconnected sessions whose resume window passed. */
  sessionSweepMs: 10_000,
  /** After a server-sent close frame, the client has this long to answer before the socket is destroyed. */
  closeGraceMs: 5_000,
  /** Graceful shutdown: how long clients get to close before the rest are terminated. */
  drainTimeoutMs: 10_000,
  /** Graceful shutdown: the smallest `retryAfter` hint sent in `goodbye` (1012). */
  restartRetryAfterMs: 1_000,
  /**
   * Graceful shutdown: each client's hint is spread uniformly over
   * [restartRetryAfterMs, restartRetryAfterMs + this], so a crowd comes back spread out.
   */
  restartRetrySpreadMs: 4_000,
  /**
   * Graceful shutdown: the clients are asked back at about this many per second at most.
   * A drain that sets no `retrySpreadMs` spreads the hints over
   * max(restartRetrySpreadMs, connections / this) seconds: 4,000 connections or fewer over
   * 4 s, 10,000 over 10 s. A 2-core hub that resumed 10,000 SQLite sessions while the
   * clients shared its cores absorbed ~700 resumes/s; hints spread over 4 s asked ~1,700/s
   * of it and the last clients waited in its accept queue for seconds.
   */
  restartReconnectRate: 1_000,
  /**
   * 30 s: how long before a connection's token expires (the `expiresAt` of `authenticate`)
   * the server sends `refresh`, capped at half the token's remaining lifetime (a 5 s token
   * is asked after 2.5 s). A token provider usually answers in well under a second; 30 s
   * leaves room for a slow network and a retry, and costs one early fetch per token life.
   */
  tokenRefreshLeadMs: 30_000,
  /**
   * Standalone HTTP server: 10 s to receive a request's headers (Node's default is 60 s,
   * checked every 30 s: a client sending half a request held its socket ~70 s).
   */
  headersTimeoutMs: 10_000,
  /** Standalone HTTP server: 10 s to receive a whole request (Node's default is 300 s). */
  requestTimeoutMs: 10_000,
  /** `Retry-After` of an HTTP 429 (per-IP cap), rounded up to whole seconds. */
  refusedRetryAfterMs: 5_000,
  /**
   * Standalone HTTP server: the listen backlog (completed TCP handshakes the kernel holds
   * until the process accepts them; the kernel caps it at `net.core.somaxconn`). Node's
   * default of 511 overflows when thousands of clients come back after a restart while
   * the event loop is busy: the kernel then drops their SYNs and each client waits 1, 3,
   * 7 s for its retransmits, long past the restart.
   */
  listenBacklog: 4_096,
} as const;
