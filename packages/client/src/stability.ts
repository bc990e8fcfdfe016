import { type Clock, DisposerBag, type Emitter, Timer } from '@tether/common';
import type { BreakerState } from './circuit-breaker.js';
import type { ClientEnvironment } from './environment.js';
import type { ClientEventMap } from './events.js';
import type { ConnectionState } from './states.js';
import type { ClientStats } from './stats.js';

/** `healthy`, `degraded` or `unhealthy`: the health score in three words, with hysteresis. */
export type HealthLevel = 'healthy' | 'degraded' | 'unhealthy';

/**
 * Why the health is not perfect: `offline` (the device says so), `disconnected` (not
 * open), `breaker-open` (the circuit is open or probing), `failures` (attempts in a row
 * failed), `recent-drops` (a drop in the last 10 minutes), `high-rtt` (smoothed RTT above
 * {@link HEALTH_LEVELS}.highRttMs), `queue-filling` (the outbox is half full or more).
 */
export type HealthReason =
  | 'offline'
  | 'disconnected'
  | 'breaker-open'
  | 'failures'
  | 'recent-drops'
  | 'high-rtt'
  | 'queue-filling';

/** What `client.health()` returns and the `health` event carries. */
export interface HealthStatus {
  level: HealthLevel;
  /** The health score, 0-100 (`stats().health`). */
  score: number;
  /** Every reason that applies now (possibly several; empty when nothing is wrong). */
  reasons: HealthReason[];
}

/** The health level changed. */
export interface HealthEvent extends HealthStatus {
  type: 'health';
  previous: HealthLevel;
  /** Wall-clock time of the change. */
  at: number;
}

/**
 * An open connection was lost and a new one is open: how long it took and what was
 * carried over. Emitted right after the `open` event of the new connection.
 */
export interface RecoveredEvent {
  type: 'recovered';
  /** From the drop to the new `welcome`, in ms. */
  downtimeMs: number;
  /** The close code of the drop. */
  closeCode: number;
  /** Connection attempts it took (1: the first reconnect worked). */
  attempts: number;
  /** Whether the session was resumed (server messages missed meanwhile are replayed once, in order). */
  resumed: boolean;
  /** Why the session could not be resumed (then messages after it were lost and `resent` were sent as new). */
  sessionLost: string | undefined;
  /** Reliable messages and requests that were not yet acknowledged and were sent again. */
  resent: number;
  /** Topic subscriptions the client subscribed again from their positions. */
  resubscribed: number;
}

/**
 * What `client.stabilityReport()` returns: the client's stability since it was created,
 * in counts, so an application can log or export it instead of computing it.
 */
export interface ClientStabilityReport {
  /** Wall-clock time the report starts (the client's construction). */
  since: number;
  /** ms covered by the report. */
  durationMs: number;
  state: ConnectionState;
  health: HealthStatus;
  /** ms spent at each health level (the distribution over time). */
  healthTimeMs: Record<HealthLevel, number>;
  /** Health level changes (`health` events). */
  healthChanges: number;
  /** Connection attempts, and those that reached `open`. */
  attempts: number;
  connects: number;
  /** Open connections lost, in total and by close code. */
  drops: number;
  dropsByCode: Record<number, number>;
  /** Drops followed by a new open connection (`recovered` events). */
  recoveries: number;
  /** Recoveries that resumed the session, and those that had to start a new one. */
  resumed: number;
  sessionsLost: number;
  /** Messages sent again over all recoveries. */
  resent: number;
  /** Time without an open connection after a drop: in total, the longest, the last. */
  downtime: { totalMs: number; maxMs: number; lastMs: number | undefined };
  /** Times the circuit breaker opened. */
  breakerOpens: number;
  /** Time spent open, over the client's life. */
  uptimeMs: number;
}

/**
 * Where the levels start and how hysteresis keeps them from flapping: a worse level is
 * reported at once; a better one only once the score has been at least `margin` points
 * inside it for `recoverAfterMs` (the same 5 s the client waits before it calls a
 * connection stable).
 */
export const HEALTH_LEVELS = {
  /** Scores below 80 are `degraded`. */
  degradedBelow: 80,
  /** Scores below 50 are `unhealthy`. */
  unhealthyBelow: 50,
  /** Points above a threshold a score must reach before the better level counts. */
  margin: 5,
  /** ms a better level must hold before it is reported. */
  recoverAfterMs: 5_000,
  /** ms between checks while the client is not closed (RTT and the drop window move without events). */
  checkIntervalMs: 1_000,
  /** Smoothed RTT above this is the `high-rtt` reason. */
  highRttMs: 300,
  /** An outbox at this share of `maxQueue` or `maxQueueBytes` is the `queue-filling` reason, and at least `degraded`. */
  queueShare: 0.5,
} as const;

const RANK: Record<HealthLevel, number> = { healthy: 0, degraded: 1, unhealthy: 2 };

/** The level a score falls in (`margin` raises the thresholds, for leaving a worse level). */
function levelOf(score: number, margin: number): HealthLevel {
  if (score < HEALTH_LEVELS.unhealthyBelow + margin) return 'unhealthy';
  if (score < HEALTH_LEVELS.degradedBelow + margin) return 'degraded';
  return 'healthy';
}

const worse = (a: HealthLevel, b: HealthLevel): HealthLevel => (RANK[a] >= RANK[b] ? a : b);

/** What the monitor reads from the client; only public surfaces. */
export interface StabilitySource {
  events: Emitter<ClientEventMap>;
  clock: Clock;
  environment: ClientEnvironment;
  stats(): ClientStats;
  subscriptionCount(): number;
  maxQueue: number;
  maxQueueBytes: number;
}

/**
 * The client's stability vocabulary, derived from its public events and `stats()`: the
 * `health` level with reasons, `recovered` after a drop, and the stability report. Owns
 * one timer (a check per second while the client is not closed) and its listeners.
 */
export class StabilityMonitor {
  private readonly listeners = new DisposerBag();
  private readonly timer: Timer;
  private readonly since: number;
  private readonly createdMono: number;
  private current: HealthStatus;
  private levelSinceMono: number;
  private readonly timeAt: Record<HealthLevel, number> = { healthy: 0, degraded: 0, unhealthy: 0 };
  /** A better level seen, and since when (monotonic), while it has to hold. */
  private better: { level: HealthLevel; since: number } | undefined;
  private changes = 0;
  /** Set while an open connection is lost and not yet replaced. */
  private drop: { at: number; code: number; attempts: number } | undefined;
  /** The latest `close` event's code (it comes just before the state leaves `open`). */
  private lastCloseCode = 0;
  private lastSession: ClientEventMap['session'] | undefined;
  private queuedAtWelcome = 0;
  private recoveries = 0;
  private resumed = 0;
  private sessionsLost = 0;
  private resent = 0;
  private downtimeTotal = 0;
  private downtimeMax = 0;
  private downtimeLast: number | undefined;

  constructor(private readonly source: StabilitySource) {
    const { clock, events } = source;
    this.timer = new Timer('tether.client.health-check', clock);
    this.since = clock.now();
    this.createdMono = clock.monotonic();
    this.levelSinceMono = this.createdMono;
    this.current = this.measure();
    const check = (): void => this.check();
    this.listeners.add(
      events.on('state', ({ from, to }) => {
        if (from === 'open' && to !== 'closed') this.dropped();
        if (to === 'closed') {
          this.drop = undefined;
          this.timer.clear();
        } else if (!this.timer.active) this.tick();
        if (to === 'connecting' && this.drop) this.drop.attempts += 1;
        this.check();
      }),
    );
    this.listeners.add(
      events.on('close', ({ code }) => {
        this.lastCloseCode = code;
      }),
    );
    this.listeners.add(
      events.on('session', (event) => {
        this.lastSession = event;
        this.queuedAtWelcome = source.stats().queued;
      }),
    );
    this.listeners.add(events.on('open', () => this.reopened()));
    for (const name of ['breaker', 'overflow', 'ack', 'retry'] as const)
      this.listeners.add(events.on(name, check));
  }

  /** The current level, score and reasons (re-read now; a change is emitted first). */
  health(): HealthStatus {
    this.check();
    return { ...this.current, reasons: [...this.current.reasons] };
  }

  report(): ClientStabilityReport {
    this.check();
    const mono = this.source.clock.monotonic();
    const stats = this.source.stats();
    const healthTimeMs = { ...this.timeAt };
    healthTimeMs[this.current.level] += mono - this.levelSinceMono;
    return {
      since: this.since,
      durationMs: mono - this.createdMono,
      state: stats.state,
      health: this.health(),
      healthTimeMs,
      healthChanges: this.changes,
      attempts: stats.attempts,
      connects: stats.connects,
      drops: stats.drops,
      dropsByCode: stats.dropsByCode,
      recoveries: this.recoveries,
      resumed: this.resumed,
      sessionsLost: this.sessionsLost,
      resent: this.resent,
      downtime: { totalMs: this.downtimeTotal, maxMs: this.downtimeMax, lastMs: this.downtimeLast },
      breakerOpens: stats.breaker.opens,
      uptimeMs: stats.totalUptimeMs,
    };
  }

  /** Removes every listener and the timer. */
  dispose(): void {
    this.listeners.dispose();
    this.timer.clear();
  }

  private tick(): void {
    this.timer.start(HEALTH_LEVELS.checkIntervalMs, () => {
      this.check();
      if (this.source.stats().state !== 'closed') this.tick();
    });
  }

  private dropped(): void {
    this.drop = { at: this.source.clock.monotonic(), code: this.lastCloseCode, attempts: 0 };
  }

  private reopened(): void {
    const drop = this.drop;
    const session = this.lastSession;
    this.drop = undefined;
    if (!drop) return;
    const downtimeMs = this.source.clock.monotonic() - drop.at;
    const resumed = session?.resumed ?? false;
    const resent = resumed ? this.queuedAtWelcome : (session?.resent.length ?? 0);
    this.recoveries += 1;
    if (resumed) this.resumed += 1;
    else this.sessionsLost += 1;
    this.resent += resent;
    this.downtimeTotal += downtimeMs;
    this.downtimeMax = Math.max(this.downtimeMax, downtimeMs);
    this.downtimeLast = downtimeMs;
    this.source.events.emit('recovered', {
      type: 'recovered',
      downtimeMs,
      closeCode: drop.code,
      attempts: Math.max(1, drop.attempts),
      resumed,
      sessionLost: resumed ? undefined : (session?.reason ?? 'new session'),
      resent,
      resubscribed: this.source.subscriptionCount(),
    });
    this.check();
  }

  private measure(): HealthStatus {
    const stats = this.source.stats();
    const reasons: HealthReason[] = [];
    if (!this.source.environment.onLine) reasons.push('offline');
    if (stats.state !== 'open') reasons.push('disconnected');
    const breaker: BreakerState = stats.breaker.state;
    if (breaker !== 'closed' || stats.state === 'circuit-open') reasons.push('breaker-open');
    if (stats.consecutiveFailures > 0) reasons.push('failures');
    if (stats.recentDrops > 0) reasons.push('recent-drops');
    if ((stats.rttAvgMs ?? 0) > HEALTH_LEVELS.highRttMs) reasons.push('high-rtt');
    const share = HEALTH_LEVELS.queueShare;
    const filling =
      stats.queued >= this.source.maxQueue * share ||
      stats.queuedBytes >= this.source.maxQueueBytes * share;
    if (filling) reasons.push('queue-filling');
    const level = filling ? worse(levelOf(stats.health, 0), 'degraded') : levelOf(stats.health, 0);
    return { level, score: stats.health, reasons };
  }

  /** Re-reads the score; reports a worse level at once, a better one once it held. */
  private check(): void {
    const now = this.measure();
    const mono = this.source.clock.monotonic();
    const was = this.current.level;
    if (RANK[now.level] >= RANK[was]) {
      this.better = undefined;
      if (now.level === was) this.current = now;
      else this.change(now, mono);
      return;
    }
    // Better: it must clear the threshold by the margin, and hold once the client has
    // known trouble (before any drop or failure, the first connection counts at once).
    const clear = worse(levelOf(now.score, HEALTH_LEVELS.margin), now.level);
    const stats = this.source.stats();
    const hold =
      stats.drops > 0 || stats.breaker.opens > 0 || stats.consecutiveFailures > 0
        ? HEALTH_LEVELS.recoverAfterMs
        : 0;
    if (RANK[clear] >= RANK[was]) {
      this.better = undefined;
      this.current = { ...now, level: was };
      return;
    }
    if (this.better?.level !== clear) this.better = { level: clear, since: mono };
    if (mono - this.better.since >= hold) {
      this.better = undefined;
      this.change({ ...now, level: clear }, mono);
    } else {
      this.current = { ...now, level: was };
    }
  }

  private change(next: HealthStatus, mono: number): void {
    const previous = this.current.level;
    this.timeAt[previous] += mono - this.levelSinceMono;
    this.levelSinceMono = mono;
    this.current = next;
    this.changes += 1;
    this.source.events.emit('health', {
      type: 'health',
      ...next,
      reasons: [...next.reasons],
      previous,
      at: this.source.clock.now(),
    });
  }
}
