/** What a token bucket answers for one frame. */
export type RateVerdict = 'ok' | 'drop' | 'close';

/**
 * A per-connection token bucket: refills `perSecond` tokens a second up to `burst`;
 * each frame takes one. Computed on demand from the clock, so it needs no timer.
 *
 * Frames over the limit are dropped (`drop`); after `dropsBeforeClose` drops the verdict
 * becomes `close`. A client that backs off until its bucket is full again is forgiven
 * (the drop count resets), so one burst does not count against it forever while a
 * client that keeps pushing at twice the rate is closed.
 */
export class TokenBucket {
  private tokens: number;
  private updatedAt: number;
  private drops = 0;

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly dropsBeforeClose: number,
    now: number,
  ) {
    this.tokens = burst;
    this.updatedAt = now;
  }

  /** Takes one token at monotonic time `now` (ms). */
  take(now: number): RateVerdict {
    const elapsed = now - this.updatedAt;
    if (elapsed > 0) {
      this.tokens = Math.min(this.burst, this.tokens + (elapsed * this.perSecond) / 1000);
      this.updatedAt = now;
      if (this.tokens >= this.burst) this.drops = 0;
    }
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 'ok';
    }
    this.drops += 1;
    return this.drops >= this.dropsBeforeClose ? 'close' : 'drop';
  }

  /** Frames dropped since the client was last forgiven. */
  get dropped(): number {
    return this.drops;
  }

  /** How long (ms) an empty bucket takes to fill: the retry hint of a 1008 close. */
  get refillMs(): number {
    return Math.ceil((this.burst * 1000) / this.perSecond);
  }
}
