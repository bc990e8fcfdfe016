import { type Clock, Timer } from '@tether/common';

/**
 * The probe's outstanding pings: matches answers to pings by key, measures the round
 * trip on the monotonic clock, and keeps one deadline timer armed for the oldest
 * unanswered ping. A ping past its deadline with nothing at all received since it left
 * means a dead (half-open) link; with other traffic since, only that ping was lost.
 */

interface PendingPing {
  key: string;
  sentAt: number;
}

export class PingTracker {
  private pending: PendingPing[] = [];
  private counter = 0;
  private readonly deadline: Timer;

  constructor(
    private readonly clock: Clock,
    private readonly timeoutMs: () => number,
    /** Monotonic ms of the latest byte received. */
    private readonly lastInbound: () => number,
    /** A ping ran out of time; `dead` when nothing arrived since it was sent. */
    private readonly onTimeout: (dead: boolean) => void,
  ) {
    this.deadline = new Timer('tether.probe.ping-deadline', clock);
  }

  get outstanding(): number {
    return this.pending.length;
  }

  /** Registers a WebSocket ping; returns its payload (a counter). */
  nextKey(): string {
    this.counter += 1;
    return this.track(String(this.counter));
  }

  /**
   * Registers an app ping; returns its `ts` (the server echoes it). Two pings in the same
   * wall-clock millisecond get distinct values.
   */
  nextTimestamp(now: number): number {
    const last = this.pending.at(-1);
    const ts = last !== undefined && Number(last.key) >= now ? Number(last.key) + 1 : now;
    this.track(String(ts));
    return ts;
  }

  private track(key: string): string {
    this.pending.push({ key, sentAt: this.clock.monotonic() });
    if (!this.deadline.active) this.arm();
    return key;
  }

  /** An answer arrived; returns the round trip in ms, or undefined for an unknown key. */
  answered(key: string): number | undefined {
    const index = this.pending.findIndex((p) => p.key === key);
    if (index === -1) return undefined;
    const [ping] = this.pending.splice(index, 1);
    if (index === 0) this.arm();
    return ping === undefined ? undefined : this.clock.monotonic() - ping.sentAt;
  }

  clear(): void {
    this.deadline.clear();
    this.pending = [];
  }

  /** Arms the deadline of the oldest unanswered ping. */
  private arm(): void {
    const oldest = this.pending[0];
    if (oldest === undefined) {
      this.deadline.clear();
      return;
    }
    const due = oldest.sentAt + this.timeoutMs() - this.clock.monotonic();
    this.deadline.start(Math.max(0, due), () => this.expire());
  }

  private expire(): void {
    const oldest = this.pending.shift();
    if (oldest === undefined) return;
    const dead = this.lastInbound() <= oldest.sentAt;
    this.onTimeout(dead);
    if (!dead) this.arm();
  }
}
