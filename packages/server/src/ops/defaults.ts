/**
 * Defaults of the operations layer (metrics, `/stats` sampling, health checks). Change
 * one only with a reason written in docs/operations.md.
 */
export const OPS_DEFAULTS = {
  /**
   * Heartbeat RTT buckets in seconds: 1 ms (same host) to 10 s (a link about to be
   * declared dead: the default heartbeat timeout is 10 s).
   */
  rttBucketsSeconds: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  /**
   * Store operation buckets in seconds: 0.1 ms (memory store) to 2.5 s (a SQLite writer
   * waiting on a lock: the busy timeout is 5 s).
   */
  storeBucketsSeconds: [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
  ],
  /** `/stats` sampling period: the dashboard polls once a second. */
  sampleIntervalMs: 1_000,
  /** Points of history kept for the dashboard's charts: 5 minutes at one per second. */
  historyPoints: 300,
  /**
   * RTT percentiles in `/stats` cover the measurements of the last minute: with the
   * default 25 s heartbeat every connection is measured about twice in it.
   */
  rttWindowMs: 60_000,
  /** RTT measurements kept per sample interval; beyond it a random subset is kept. */
  rttSamplesPerInterval: 5_000,
  /** IP addresses listed in `/stats` `topIps`. */
  topIps: 10,
  /** Connections listed in `/stats` (the least healthy first); `?connections=N` asks for more. */
  connectionsListed: 100,
  /**
   * Most connections `?connections=N` may ask for: 1,000 rows are about 300 kB of JSON,
   * built on every request; the table shows the least healthy first anyway.
   */
  maxConnectionsListed: 1_000,
  /** Recent errors kept for `/stats` and the dashboard, all kinds together. */
  recentErrors: 50,
  /**
   * Recent errors kept per kind (`auth`, `close`, `api`, `store`, ...): strangers can cause
   * refused tokens and 401s at will, and must not push the rare kinds (a failing store) out.
   */
  recentErrorsPerKind: 20,
  /** Longest `message` of a recent error, in characters (longer ones are cut). */
  recentErrorBytes: 300,
  /**
   * Distinct `route` values of `tether_http_requests_total` besides `unmatched`. Callers pass route patterns
   * (a fixed set); this backstop keeps a caller that passes URLs from making a series per
   * URL: values past it count as `unmatched`. The hub has about 15 routes.
   */
  httpRouteLabels: 50,
  /** A readiness check (the store) that takes longer than this fails `/readyz`. */
  readyCheckTimeoutMs: 2_000,
  /** RTT above this marks a connection `degraded` in the connections table. */
  degradedRttMs: 1_000,
} as const;
