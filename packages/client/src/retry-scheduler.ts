import { type Clock, Timer } from '@tether/common';
import type { CloseAction } from '@tether/protocol';
import { CircuitBreaker } from './circuit-breaker.js';
import type { ResolvedOptions } from './options.js';
import { planRetry, type RetryKind } from './reconnect-policy.js';

/** What follows the end of an attempt that the close-code table lets reconnect. */
export type RetryDecision =
  /** `maxAttempts` reconnects in a row failed: give up. */
  | { kind: 'exhausted'; attempts: number }
  /** The breaker opened: wait for the cool-down, then probe. */
  | { kind: 'circuit-open'; failures: number }
  /** The device is offline: wait for the `online` event. */
  | { kind: 'offline' }
  /** Wait `delayMs`, then attempt. */
  | { kind: 'retry'; attempt: number; delayMs: number; plan: RetryKind };

/**
 * When to try again: counts reconnects in a row (backoff exponent,
 * `maxAttempts`) and failed attempts (the breaker), resets both once a
 * connection proves stable, and owns the two timers that wait (backoff and
 * breaker cool-down).
 */
export class RetryScheduler {
  /** Reconnects scheduled since the last stable connection. */
  retries = 0;
  /** Attempts in a row that ended before becoming stable. */
  failures = 0;
  /** Waits planned since the last stable connection (the backoff's exponent; failovers at once do not count). */
  private waits = 0;
  readonly breaker: CircuitBreaker;
  private readonly retryTimer: Timer;
  private readonly cooldownTimer: Timer;
  private dueAt: number | undefined;

  constructor(
    private readonly opts: ResolvedOptions,
    private readonly clock: Clock,
    /** Called whenever the breaker's snapshot changed. */
    private readonly onBreaker: () => void,
  ) {
    this.breaker = new CircuitBreaker(opts.breakerThreshold, opts.breakerCooldownMs);
    this.retryTimer = new Timer('tether.client.retry', clock);
    this.cooldownTimer = new Timer('tether.client.breaker-cooldown', clock);
  }

  /** Fresh counters (a new `connect()`). */
  reset(): void {
    this.retries = 0;
    this.failures = 0;
    this.waits = 0;
    this.breaker.reset();
  }

  /** An attempt got its `welcome`: a probing breaker closes. */
  connected(): void {
    const probing = this.breaker.snapshot().state !== 'closed';
    this.breaker.recordConnected();
    if (probing) this.onBreaker();
  }

  /** A connection stayed up for `minUptimeMs`: forget past failures. */
  stable(): void {
    this.retries = 0;
    this.failures = 0;
    this.waits = 0;
    const counting = this.breaker.snapshot().failures > 0;
    this.breaker.reset();
    if (counting) this.onBreaker();
  }

  /**
   * An attempt ended with a close code that reconnects; decides what follows. `failover`:
   * the next attempt goes to a URL not yet tried in this round, so it goes at once.
   */
  ended(
    failed: boolean,
    closeCode: number,
    action: CloseAction,
    retryAfterMs: number | undefined,
    failover = false,
  ): RetryDecision {
    let opened = false;
    if (failed) {
      this.failures += 1;
      // With several URLs the breaker counts failed rounds: a failover at once is no strike.
      // Nor is an answer with a retry hint (503 + Retry-After, goodbye's retryAfter): the
      // server is up and spreading its load; the hint already says when to come back.
      if (!failover && retryAfterMs === undefined) {
        opened = this.breaker.recordFailure(this.clock.now());
        this.onBreaker();
      }
    }
    if (this.retries + 1 > this.opts.maxAttempts)
      return { kind: 'exhausted', attempts: this.retries };
    this.retries += 1;
    if (opened) return { kind: 'circuit-open', failures: this.failures };
    if (!this.opts.environment.onLine) return { kind: 'offline' };
    if (!failover) this.waits += 1;
    const step = { attempt: this.retries, waits: this.waits, failover };
    const { delayMs, kind } = planRetry(this.opts, step, closeCode, action, retryAfterMs);
    return { kind: 'retry', attempt: this.retries, delayMs, plan: kind };
  }

  /** Runs `attempt` after `delayMs`. */
  schedule(delayMs: number, attempt: () => void): void {
    this.dueAt = this.clock.now() + delayMs;
    this.retryTimer.start(delayMs, () => {
      this.dueAt = undefined;
      attempt();
    });
  }

  /** Runs `probe` once the breaker's cool-down is over. */
  scheduleProbe(probe: () => void): void {
    this.cooldownTimer.start(this.opts.breakerCooldownMs, () => {
      this.breaker.startProbe();
      this.onBreaker();
      probe();
    });
  }

  /** Whether a scheduled retry is overdue by the wall clock (its timer was throttled). */
  overdue(): boolean {
    return this.dueAt !== undefined && this.clock.now() >= this.dueAt;
  }

  /** Cancels whatever wait is pending. */
  cancel(): void {
    this.retryTimer.clear();
    this.cooldownTimer.clear();
    this.dueAt = undefined;
  }
}
