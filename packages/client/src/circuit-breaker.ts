/**
 * A circuit breaker over connection attempts. After `threshold` consecutive
 * failed attempts it opens: no attempts for `cooldownMs`, then one probe
 * (`half-open`). A probe that connects closes the circuit; one that fails
 * opens it again for another cool-down.
 */

/** `closed`: attempts flow. `open`: cooling down. `half-open`: one probe attempt in progress. */
export type BreakerState = 'closed' | 'open' | 'half-open';

/** What `stats().breaker` and the `breaker` event report. */
export interface BreakerSnapshot {
  state: BreakerState;
  /** Consecutive failed attempts counted so far. */
  failures: number;
  /** Failures that open the circuit (0: the breaker is disabled). */
  threshold: number;
  cooldownMs: number;
  /** Wall-clock time the circuit last opened. */
  openedAt: number | undefined;
  /** Wall-clock time the probe is due while `open`. */
  probeAt: number | undefined;
  /** How many times the circuit has opened. */
  opens: number;
}

/**
 * What a change of the breaker's snapshot means (the `breaker` event's `transition`):
 * `open` (no attempts for the cool-down), `probe` (the cool-down is over: one attempt),
 * `close` (an attempt got through), or `count` (only the failure count changed).
 */
export type BreakerTransition = 'open' | 'probe' | 'close' | 'count';

/** The transition from state `from` to state `to`. */
export function breakerTransition(from: BreakerState, to: BreakerState): BreakerTransition {
  if (from === to) return 'count';
  if (to === 'open') return 'open';
  return to === 'half-open' ? 'probe' : 'close';
}

export class CircuitBreaker {
  private state: BreakerState = 'closed';
  private failures = 0;
  private openedAt: number | undefined;
  private probeAt: number | undefined;
  private opens = 0;

  constructor(
    private readonly threshold: number,
    private readonly cooldownMs: number,
  ) {}

  /** Records a failed attempt; returns true when the circuit (re)opens now. */
  recordFailure(now: number): boolean {
    this.failures += 1;
    if (this.threshold === 0) return false;
    if (this.state === 'half-open' || this.failures >= this.threshold) {
      this.state = 'open';
      this.openedAt = now;
      this.probeAt = now + this.cooldownMs;
      this.opens += 1;
      return true;
    }
    return false;
  }

  /** The cool-down is over: the next attempt is the probe. */
  startProbe(): void {
    if (this.state === 'open') this.state = 'half-open';
    this.probeAt = undefined;
  }

  /**
   * An attempt got its `welcome`: the server is reachable again. The failure
   * count stays until the connection proves stable (see {@link reset}), so a
   * server that accepts and drops at once reopens the circuit on the next failure.
   */
  recordConnected(): void {
    if (this.state !== 'closed') {
      this.state = 'closed';
      this.probeAt = undefined;
    }
  }

  /** A connection stayed up for the minimum uptime: forget past failures. */
  reset(): void {
    this.failures = 0;
    this.state = 'closed';
    this.probeAt = undefined;
  }

  get isOpen(): boolean {
    return this.state === 'open';
  }

  snapshot(): BreakerSnapshot {
    return {
      state: this.state,
      failures: this.failures,
      threshold: this.threshold,
      cooldownMs: this.cooldownMs,
      openedAt: this.openedAt,
      probeAt: this.probeAt,
      opens: this.opens,
    };
  }
}
