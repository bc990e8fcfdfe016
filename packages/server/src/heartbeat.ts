import { type Clock, Sweep } from '@tether/common';
import type { ConnectionState } from './connection-types.js';

/** The timing fields of a connection that the sweep reads (monotonic ms). */
export interface HeartbeatSubject {
  readonly state: ConnectionState;
  /** When the upgrade completed. */
  readonly openedAt: number;
  /** Latest inbound traffic of any kind (message, WebSocket ping or pong). */
  readonly lastSeenAt: number;
  /** When the next heartbeat is due. */
  readonly nextPingAt: number;
  /** When the close began (goodbye + close frame sent), if it did. */
  readonly closingSince: number | undefined;
}

/** The timing options the sweep applies. */
export interface HeartbeatTiming {
  heartbeatIntervalMs: number;
  heartbeatTimeoutMs: number;
  handshakeTimeoutMs: number;
  closeGraceMs: number;
}

/** What the sweep does to one connection. */
export type HeartbeatAction =
  | 'none'
  | 'ping'
  | 'heartbeat-timeout'
  | 'handshake-timeout'
  | 'terminate';

/**
 * Decides, at monotonic time `now`, what a connection needs. Pure, so the rules are
 * tested with plain numbers:
 * - `handshake` past `handshakeTimeoutMs` since the upgrade: close 4000;
 * - `open` and silent (no inbound traffic of any kind, protocol pongs included) for
 *   interval + timeout: half-open, close 4008 and destroy;
 * - `open` and its heartbeat due: ping (WebSocket ping + app `ping` frame);
 * - `closing` past `closeGraceMs` without the client's close frame: destroy.
 */
export function heartbeatAction(
  subject: HeartbeatSubject,
  now: number,
  timing: HeartbeatTiming,
): HeartbeatAction {
  switch (subject.state) {
    case 'handshake':
      return now - subject.openedAt >= timing.handshakeTimeoutMs ? 'handshake-timeout' : 'none';
    case 'open':
      if (now - subject.lastSeenAt >= timing.heartbeatIntervalMs + timing.heartbeatTimeoutMs) {
        return 'heartbeat-timeout';
      }
      return now >= subject.nextPingAt ? 'ping' : 'none';
    case 'closing':
      return subject.closingSince !== undefined && now - subject.closingSince >= timing.closeGraceMs
        ? 'terminate'
        : 'none';
    default:
      return 'none';
  }
}

/**
 * The tick of the sweep for these timings: a quarter of the smallest deadline, so a
 * deadline is acted on at most 25 % late, with a 5 ms floor. Defaults (25 s, 10 s,
 * 10 s handshake, 5 s grace) give 1.25 s.
 */
export function sweepTickMs(timing: HeartbeatTiming): number {
  const smallest = Math.min(
    timing.heartbeatIntervalMs,
    timing.heartbeatTimeoutMs,
    timing.handshakeTimeoutMs,
    timing.closeGraceMs,
  );
  return Math.max(5, Math.floor(smallest / 4));
}

/** An endpoint as the sweep sees it. */
export interface SweepTarget {
  /** The tick this target needs. */
  readonly tickMs: number;
  /**
   * Runs one pass over its connections and pending handshakes; returns whether it holds
   * any. With `judge` false the pass only pings: no deadline is enforced.
   */
  sweep(now: number, judge: boolean): boolean;
}

/**
 * ONE sweep for every connection of a server (no timer per connection): each tick, each
 * endpoint checks its connections with {@link heartbeatAction}. The tick is the smallest
 * that any endpoint needs. The sweep starts when a socket arrives and stops itself when
 * a pass finds no socket and no pending handshake, so an idle server holds no timer.
 */
export class HeartbeatSweep {
  private readonly targets = new Set<SweepTarget>();
  private sweep: Sweep | undefined;
  private tickMs = 0;
  private lastRunAt: number | undefined;
  /** Whether the targets changed since the tick was computed. */
  private stale = true;

  constructor(private readonly clock: Clock) {}

  add(target: SweepTarget): () => void {
    this.targets.add(target);
    this.stale = true;
    return () => {
      this.targets.delete(target);
      this.stale = true;
    };
  }

  /** Makes sure the sweep runs (a socket or a pending handshake appeared). */
  wake(): void {
    if (this.sweep !== undefined && !this.stale) return;
    // Recomputed only when endpoints were added or removed since the last computation.
    let tick = Number.POSITIVE_INFINITY;
    for (const target of this.targets) tick = Math.min(tick, target.tickMs);
    this.stale = false;
    if (this.sweep !== undefined && tick === this.tickMs) return;
    this.sweep?.stop();
    this.tickMs = tick;
    this.sweep = new Sweep('tether.heartbeat', tick, () => this.run(), this.clock);
    this.lastRunAt = this.clock.monotonic();
    this.sweep.start();
  }

  /** Stops the sweep (server closed). */
  stop(): void {
    this.sweep?.stop();
    this.sweep = undefined;
    this.lastRunAt = undefined;
  }

  get running(): boolean {
    return this.sweep !== undefined;
  }

  private run(): void {
    const now = this.clock.monotonic();
    // A pass that runs late means the event loop stalled (GC pause, CPU starvation). Timers
    // run before I/O in Node's loop, so pongs that arrived during the stall are not read
    // yet: silence is no evidence now. Such a pass only pings; the next one judges.
    const judge = this.lastRunAt === undefined || now - this.lastRunAt <= this.tickMs * 2;
    this.lastRunAt = now;
    let busy = false;
    for (const target of this.targets) {
      if (target.sweep(now, judge)) busy = true;
    }
    if (!busy) this.stop();
  }
}
