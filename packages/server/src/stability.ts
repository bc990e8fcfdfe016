import type { Clock } from '@tether/common';
import { closeCodeInfo } from '@tether/protocol';
import type { CloseEvent, ConnectionState, TetherConnection } from './connection-types.js';
import type { HeartbeatAction } from './heartbeat.js';
import { connectionRow } from './ops/connection-health.js';
import type { ConnectionHealth } from './ops/stats-report.js';
import type { EndpointStats } from './stats.js';

/**
 * Emitted once per silence: an open connection has been silent (no message, ping or
 * pong) for a whole heartbeat interval, so it missed a heartbeat. If nothing arrives,
 * the heartbeat cuts it with 4008 `closesInMs` later; any traffic clears it (and a later
 * silence emits again). Always emitted before that cut.
 */
export interface StaleEvent {
  connection: TetherConnection;
  /** How long it has been silent, ms. */
  silentMs: number;
  /** When the heartbeat cuts it (4008) unless traffic arrives, ms from now. */
  closesInMs: number;
}

/** One entry of {@link EndpointStabilityReport.recentCloses}. */
export interface RecentClose {
  /** Wall-clock ms. */
  at: number;
  connectionId: string;
  code: number;
  /** The close code's stable name (`heartbeat_timeout`, `service_restart`, ...). */
  cause: string;
  reason: string;
  initiatedBy: 'client' | 'server';
  /** Whether the connection had been reported `stale` (at some point) before it closed. */
  wasStale: boolean;
}

/** One endpoint's part of {@link StabilityReport}. */
export interface EndpointStabilityReport {
  path: string;
  /** Sockets now, and those welcomed and open. */
  connections: { total: number; ready: number };
  /**
   * Connections now by health, judged as the `/stats` connections table does: `stale`
   * (silent past interval + timeout / 2), `degraded` (RTT above 1 s or error frames),
   * `connecting`, `closing`, `ok`.
   */
  health: Record<ConnectionHealth, number>;
  /** `stale` events emitted, and heartbeat cuts (4008) that followed a silence. */
  staleEvents: number;
  heartbeatTimeouts: number;
  /** Closes since start by close code. */
  closesByCode: Record<string, number>;
  /** Closes since start by cause (the close code's name). */
  closesByCause: Record<string, number>;
  /** The last {@link STABILITY_DEFAULTS}.recentCloses closes, newest last. */
  recentCloses: RecentClose[];
  /** Session recoveries: resumes that worked, and those that failed by reason. */
  recoveries: EndpointStats['resumes'];
  /** Messages and publications replayed (after resumes, `from`/`last`, catching up). */
  replayed: number;
}

/** What `tether.stabilityReport()` returns. */
export interface StabilityReport {
  /** Wall-clock ms. */
  time: number;
  /** Sums over the endpoints. */
  connections: { total: number; ready: number };
  health: Record<ConnectionHealth, number>;
  endpoints: EndpointStabilityReport[];
}

/** Bounds of the stability report. */
export const STABILITY_DEFAULTS = {
  /** Recent closes kept per endpoint: the oldest goes. */
  recentCloses: 50,
} as const;

export const emptyHealth = (): Record<ConnectionHealth, number> => ({
  ok: 0,
  degraded: 0,
  stale: 0,
  connecting: 0,
  closing: 0,
});

/** The subject of {@link StabilityWatch.sweep}: a connection as the heartbeat sees it. */
export interface StaleSubject {
  readonly state: ConnectionState;
  readonly lastSeenAt: number;
}

/**
 * The stability side of one endpoint: the `stale` signal (from the heartbeat sweep, so
 * no timer of its own), and the bounded record behind its part of the stability report.
 */
export class StabilityWatch {
  /** The `lastSeenAt` a connection was reported stale for (one event per silence). */
  private readonly staleFor = new WeakMap<object, number>();
  private readonly recent: RecentClose[] = [];
  private readonly byCause: Record<string, number> = {};
  private staleCount = 0;

  constructor(
    private readonly clock: Clock,
    /**
     * `graceMs`: the sweep's tick. A connection that answers every ping is silent for up
     * to an interval plus the next ping's round trip, and longer when the pass that pings
     * it runs a little late: silence counts as a missed heartbeat only past interval + a
     * tick (a pass late by more than two ticks judges nothing).
     */
    private readonly timing: {
      heartbeatIntervalMs: number;
      heartbeatTimeoutMs: number;
      graceMs: number;
    },
    private readonly emitStale: (event: StaleEvent) => void,
  ) {}

  /** Silence (ms) past which an open connection counts as stale: an interval and the grace. */
  get staleAfterMs(): number {
    return this.timing.heartbeatIntervalMs + this.timing.graceMs;
  }

  /**
   * Called by the sweep for each connection it judges, before it acts: emits `stale` for
   * an open connection silent for an interval, and in any case before a heartbeat cut.
   */
  sweep(connection: StaleSubject & TetherConnection, now: number, action: HeartbeatAction): void {
    if (connection.state !== 'open') return;
    const silentMs = now - connection.lastSeenAt;
    if (silentMs < this.staleAfterMs && action !== 'heartbeat-timeout') return;
    if (this.staleFor.get(connection) === connection.lastSeenAt) return;
    this.staleFor.set(connection, connection.lastSeenAt);
    this.staleCount += 1;
    const { heartbeatIntervalMs, heartbeatTimeoutMs } = this.timing;
    const closesInMs = Math.max(0, heartbeatIntervalMs + heartbeatTimeoutMs - silentMs);
    this.emitStale({ connection, silentMs, closesInMs });
  }

  /** Records a close (bounded). */
  closed(event: CloseEvent): void {
    const cause = closeCodeInfo(event.code).name;
    this.byCause[cause] = (this.byCause[cause] ?? 0) + 1;
    const connection = event.connection;
    this.recent.push({
      at: this.clock.now(),
      connectionId: connection.id,
      code: event.code,
      cause,
      reason: event.reason,
      initiatedBy: event.initiatedBy,
      wasStale: this.staleFor.has(connection),
    });
    if (this.recent.length > STABILITY_DEFAULTS.recentCloses) this.recent.shift();
  }

  report(stats: EndpointStats, connections: Iterable<TetherConnection>): EndpointStabilityReport {
    const health = emptyHealth();
    const now = this.clock.now();
    const { heartbeatIntervalMs, heartbeatTimeoutMs } = this.timing;
    for (const connection of connections) {
      const row = connectionRow(connection.info(), now, heartbeatIntervalMs, heartbeatTimeoutMs);
      health[row.health] += 1;
    }
    return {
      path: stats.path,
      connections: { total: stats.connections, ready: stats.ready },
      health,
      staleEvents: this.staleCount,
      heartbeatTimeouts: stats.heartbeatTimeouts,
      closesByCode: { ...stats.closes },
      closesByCause: { ...this.byCause },
      recentCloses: this.recent.map((entry) => ({ ...entry })),
      recoveries: { ok: stats.resumes.ok, failed: { ...stats.resumes.failed } },
      replayed: stats.replayed,
    };
  }
}
