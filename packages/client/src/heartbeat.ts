import { type Clock, Timer } from '@tether/common';

/**
 * A timer that fires this much later than scheduled means the page was
 * throttled or frozen (background tab, suspended laptop), so silence measured
 * across that gap says nothing about the link.
 */
export const LATE_TIMER_SLACK_MS = 1_000;

export interface HeartbeatHooks {
  /** Sends an app-level `ping` carrying `ts` (wall clock). */
  sendPing(ts: number): void;
  /** The link is dead: no traffic answered a ping within the timeout. */
  onDead(silentForMs: number): void;
}

/**
 * The client's liveness watch on one connection. Browsers cannot send or see
 * WebSocket protocol pings, so liveness is app traffic: any inbound message
 * counts. When nothing arrived for `interval` (or nothing was sent for
 * `interval`, so the server hears from us) it sends a `ping`; a ping that no
 * traffic answers within `timeout` means the link is dead.
 *
 * Time is wall-clock time (`clock.now()`), compared on every check, never a
 * count of timer runs: background tabs throttle timers (Chrome: once a minute),
 * so a late check still sees the true silence and catches a dead link, while a
 * check that ran late gets one fresh ping before any verdict, because a frozen
 * page may have answers waiting that it has not read yet.
 */
export class Heartbeat {
  private readonly timer: Timer;
  private intervalMs = 0;
  private timeoutMs = 0;
  private lastReceivedAt = 0;
  private lastSentAt = 0;
  /** Wall time of the unanswered ping, if one is out. */
  private pingSentAt: number | undefined;
  /** A late check already re-pinged during this silence: the next failed ping is the verdict. */
  private graceUsed = false;
  private dueAt = 0;
  private running = false;

  constructor(
    private readonly clock: Clock,
    private readonly hooks: HeartbeatHooks,
  ) {
    this.timer = new Timer('tether.client.heartbeat', clock);
  }

  start(intervalMs: number, timeoutMs: number): void {
    this.intervalMs = intervalMs;
    this.timeoutMs = timeoutMs;
    const now = this.clock.now();
    this.lastReceivedAt = now;
    this.lastSentAt = now;
    this.pingSentAt = undefined;
    this.graceUsed = false;
    this.running = true;
    this.schedule(now);
  }

  stop(): void {
    this.running = false;
    this.timer.clear();
    this.pingSentAt = undefined;
  }

  /** Any inbound message: the link is alive. */
  received(): void {
    this.lastReceivedAt = this.clock.now();
    if (this.pingSentAt !== undefined) {
      this.pingSentAt = undefined;
      this.graceUsed = false;
      if (this.running) this.schedule(this.lastReceivedAt);
    }
  }

  /** Any outbound message: the server heard from us. */
  sent(): void {
    this.lastSentAt = this.clock.now();
  }

  /**
   * An immediate liveness check (a hidden tab became visible, the network came
   * back): send a ping now and expect traffic within the timeout.
   */
  check(): void {
    if (!this.running) return;
    const now = this.clock.now();
    // The check itself is a fresh start after a possible freeze.
    this.graceUsed = true;
    this.ping(now);
    this.schedule(now);
  }

  get active(): boolean {
    return this.running;
  }

  private tick(): void {
    if (!this.running) return;
    const now = this.clock.now();
    const late = now - this.dueAt > LATE_TIMER_SLACK_MS;
    if (this.pingSentAt !== undefined && now - this.pingSentAt >= this.timeoutMs) {
      if (late && !this.graceUsed) {
        this.graceUsed = true;
        this.ping(now);
      } else {
        this.stop();
        this.hooks.onDead(now - this.lastReceivedAt);
        return;
      }
    } else if (this.pingSentAt === undefined) {
      const idle =
        now - this.lastReceivedAt >= this.intervalMs || now - this.lastSentAt >= this.intervalMs;
      if (idle) this.ping(now);
    }
    this.schedule(now);
  }

  private ping(now: number): void {
    this.pingSentAt = now;
    this.lastSentAt = now;
    this.hooks.sendPing(now);
  }

  /** Arms the one timer for the earliest moment something can be due. */
  private schedule(now: number): void {
    let due: number;
    if (this.pingSentAt !== undefined) {
      due = this.pingSentAt + this.timeoutMs;
    } else {
      due = Math.min(this.lastReceivedAt, this.lastSentAt) + this.intervalMs;
    }
    this.dueAt = Math.max(due, now);
    this.timer.start(this.dueAt - now, () => this.tick());
  }
}
