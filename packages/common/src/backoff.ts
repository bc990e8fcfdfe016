/** Options of exponential backoff with full jitter. */
export interface BackoffOptions {
  /** Smallest delay ceiling in ms (attempt 0). */
  minDelayMs: number;
  /** Largest delay ceiling in ms. */
  maxDelayMs: number;
  /** Growth factor per attempt. */
  factor: number;
}

/**
 * The ceiling of the delay before attempt `attempt` (0-based):
 * `min(maxDelayMs, minDelayMs * factor^attempt)`.
 */
export function backoffCeiling(attempt: number, options: BackoffOptions): number {
  const exp = options.minDelayMs * options.factor ** Math.max(0, attempt);
  return Math.min(options.maxDelayMs, Number.isFinite(exp) ? exp : options.maxDelayMs);
}

/**
 * Full jitter ("Exponential Backoff And Jitter", AWS architecture blog): a
 * uniform delay in [minDelayMs, ceiling]. The floor keeps a client from
 * spinning when the ceiling is small; the spread keeps a crowd of clients
 * from reconnecting in lockstep after an outage.
 */
export function fullJitterDelay(
  attempt: number,
  options: BackoffOptions,
  random: () => number = Math.random,
): number {
  const ceiling = backoffCeiling(attempt, options);
  const floor = Math.min(options.minDelayMs, ceiling);
  return Math.round(floor + random() * (ceiling - floor));
}

/**
 * A server hint ("retry after N ms") spread by jitter: a uniform delay in
 * [hint, hint + spread]. Used for 1012/1013/429 so the clients of a restarted
 * server come back spread over a window instead of all at once.
 */
export function hintedDelay(
  hintMs: number,
  spreadMs: number,
  random: () => number = Math.random,
): number {
  return Math.round(hintMs + random() * Math.max(0, spreadMs));
}
