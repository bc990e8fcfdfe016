/**
 * The share of the server's announced rate and burst the client uses, so
 * that clock drift and timer jitter never push it over the server's bucket
 * (which answers RATE_LIMITED and drops the frame, then closes 1008).
 */
export const RATE_SAFETY = 0.9;

/**
 * A token bucket matching the server's per-connection limit from `welcome`
 * (`limits.rate` per second, `limits.burst`). The client paces its own frames
 * with it instead of finding the limit by being cut off.
 */
export class TokenBucket {
  private tokens: number;
  private updatedAt: number;
  private readonly perMs: number;
  private readonly capacity: number;

  constructor(ratePerSec: number, burst: number, now: number) {
    this.perMs = (Math.max(1, ratePerSec) * RATE_SAFETY) / 1000;
    this.capacity = Math.max(1, Math.floor(burst * RATE_SAFETY));
    this.tokens = this.capacity;
    this.updatedAt = now;
  }

  /** Takes one token if there is one. */
  take(now: number): boolean {
    this.refill(now);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Spends one token even when none is left (control frames are never held back). */
  spend(now: number): void {
    this.refill(now);
    this.tokens -= 1;
  }

  /** Milliseconds until a token is available (at least 1). */
  waitMs(now: number): number {
    this.refill(now);
    return Math.max(1, Math.ceil((1 - this.tokens) / this.perMs));
  }

  private refill(now: number): void {
    const elapsed = Math.max(0, now - this.updatedAt);
    this.updatedAt = now;
    this.tokens = Math.min(this.capacity, this.tokens + elapsed * this.perMs);
  }
}
