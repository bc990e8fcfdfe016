import { type Clock, checkInt, DisposerBag, Sweep, systemClock } from '@tether/common';
import { closeCodeInfo } from '@tether/protocol';
import type { CloseEvent } from '../connection-types.js';
import type { Endpoint } from '../endpoint-types.js';
import type { Store, StoreStats } from '../store/store.js';
import type { TetherServer } from '../tether-server.js';
import { connectionRow } from './connection-health.js';
import { OPS_DEFAULTS } from './defaults.js';
import { percentiles, RttWindow } from './rtt-window.js';
import type {
  ConnectionHealth,
  ConnectionRow,
  RecentError,
  StatsPoint,
  StatsReport,
  StatsTotals,
} from './stats-report.js';
import { closesOf, isNormalClose, resumesOf, totalsOf } from './stats-totals.js';

/** Options of {@link StatsSampler}. Defaults: {@link OPS_DEFAULTS}. */
export interface StatsSamplerOptions {
  /** Sample period in ms. Default 1000. */
  intervalMs?: number;
  /** History points kept. Default 300 (5 minutes at 1 s). */
  historyPoints?: number;
  /** RTT percentile window in ms. Default 60 000. */
  rttWindowMs?: number;
  /** IP addresses in `topIps`. Default 10. */
  topIps?: number;
  /** Recent errors kept, all kinds together. Default 50. */
  recentErrors?: number;
  /** Recent errors kept per kind. Default 20. */
  recentErrorsPerKind?: number;
  /** A store whose `stats()` is sampled each interval (reported as `store`). */
  store?: Store;
  /** Time source. Default the system clock. */
  clock?: Clock;
}

/** Options of {@link StatsSampler.report}. */
export interface StatsReportOptions {
  /** Rows of `connectionList`. Default 100, at most 1000. */
  connections?: number;
  /** Only history points after this wall-clock ms (the dashboard asks for what it lacks). */
  since?: number;
}

const HEALTH_ORDER: Record<ConnectionHealth, number> = {
  stale: 0,
  degraded: 1,
  connecting: 2,
  closing: 3,
  ok: 4,
};

/**
 * Samples a {@link TetherServer} once per interval into what `GET /stats` reports:
 * per-second rates, RTT percentiles, closes by code over time, resume outcomes, top IPs,
 * a connections table with each connection's health, and the recent errors. One timer
 * (unref'd) serves everything; memory is bounded by the history length and the RTT
 * window.
 */
export class StatsSampler {
  private readonly clock: Clock;
  private readonly intervalMs: number;
  private readonly historyPoints: number;
  private readonly topIpCount: number;
  private readonly maxErrors: number;
  private readonly maxErrorsPerKind: number;
  private readonly sweep: Sweep;
  private readonly rtt: RttWindow;
  private readonly history: StatsPoint[] = [];
  private readonly errors: RecentError[] = [];
  private readonly attached = new Set<Endpoint>();
  private readonly disposers = new DisposerBag();
  private readonly startedAt: number;
  private previous: { at: number; totals: StatsTotals; closes: Record<string, number> };
  private resumesBefore = { ok: 0, failed: 0 };
  private rates: StatsReport['rates'] = {
    messagesIn: 0,
    messagesOut: 0,
    bytesIn: 0,
    bytesOut: 0,
    connects: 0,
    disconnects: 0,
  };
  private storeStats: StoreStats | undefined;
  private storeSampling = false;

  constructor(
    private readonly tether: TetherServer,
    private readonly options: StatsSamplerOptions = {},
  ) {
    const d = OPS_DEFAULTS;
    this.clock = options.clock ?? systemClock;
    this.intervalMs = checkInt('intervalMs', options.intervalMs ?? d.sampleIntervalMs, 10);
    this.historyPoints = checkInt('historyPoints', options.historyPoints ?? d.historyPoints, 1);
    const windowMs = checkInt('rttWindowMs', options.rttWindowMs ?? d.rttWindowMs, 1);
    this.topIpCount = checkInt('topIps', options.topIps ?? d.topIps, 0);
    this.maxErrors = checkInt('recentErrors', options.recentErrors ?? d.recentErrors, 0);
    this.maxErrorsPerKind = checkInt(
      'recentErrorsPerKind',
      options.recentErrorsPerKind ?? d.recentErrorsPerKind,
      1,
    );
    this.rtt = new RttWindow(
      Math.max(1, Math.ceil(windowMs / this.intervalMs)),
      d.rttSamplesPerInterval,
    );
    this.sweep = new Sweep('tether.stats-sampler', this.intervalMs, () => this.tick(), this.clock);
    this.startedAt = this.clock.now();
    const stats = tether.stats();
    this.previous = {
      at: this.clock.monotonic(),
      totals: totalsOf(stats),
      closes: closesOf(stats),
    };
  }

  /** Starts sampling (idempotent). Endpoints added later are picked up at the next sample. */
  start(): void {
    this.attachEndpoints();
    this.sweep.start();
  }

  /** Stops sampling and stops listening to the endpoints. */
  stop(): void {
    this.sweep.stop();
    this.disposers.dispose();
    this.attached.clear();
  }

  /**
   * Adds an entry to the recent errors (auth failures, API faults, store errors, ...).
   * Bounded per kind (the oldest of its kind goes) and in total (the oldest of the most
   * frequent kind goes), so a flood of one kind never hides the others; messages are cut
   * at {@link OPS_DEFAULTS.recentErrorBytes}.
   */
  recordError(entry: Omit<RecentError, 'at'> & { at?: number }): void {
    if (this.maxErrors === 0) return;
    const message =
      entry.message.length > OPS_DEFAULTS.recentErrorBytes
        ? `${entry.message.slice(0, OPS_DEFAULTS.recentErrorBytes - 1)}…`
        : entry.message;
    this.errors.unshift({ ...entry, message, at: entry.at ?? this.clock.now() });
    if (this.countOf(entry.kind) > this.maxErrorsPerKind) this.dropOldest(entry.kind);
    if (this.errors.length > this.maxErrors) {
      const counts = new Map<string, number>();
      for (const e of this.errors) counts.set(e.kind, (counts.get(e.kind) ?? 0) + 1);
      let largest = entry.kind;
      for (const [kind, n] of counts) if (n > (counts.get(largest) ?? 0)) largest = kind;
      this.dropOldest(largest);
    }
  }

  private countOf(kind: string): number {
    let n = 0;
    for (const e of this.errors) if (e.kind === kind) n += 1;
    return n;
  }

  /** Removes the oldest entry of `kind` (the list is newest first). */
  private dropOldest(kind: string): void {
    for (let i = this.errors.length - 1; i >= 0; i -= 1) {
      if (this.errors[i]?.kind === kind) {
        this.errors.splice(i, 1);
        return;
      }
    }
  }

  /** Takes one sample now (the timer calls this; tests may too). */
  tick(): void {
    this.attachEndpoints();
    const stats = this.tether.stats();
    const now = this.clock.now();
    const mono = this.clock.monotonic();
    const totals = totalsOf(stats);
    const closes = closesOf(stats);
    const seconds = Math.max((mono - this.previous.at) / 1000, 0.001);
    const before = this.previous.totals;
    const rate = (a: number, b: number): number => Math.round(((a - b) / seconds) * 100) / 100;
    const closedNow: Record<string, number> = {};
    let disconnects = 0;
    for (const [code, n] of Object.entries(closes)) {
      const delta = n - (this.previous.closes[code] ?? 0);
      if (delta > 0) {
        closedNow[code] = delta;
        disconnects += delta;
      }
    }
    this.rates = {
      messagesIn: rate(totals.messagesIn, before.messagesIn),
      messagesOut: rate(totals.messagesOut, before.messagesOut),
      bytesIn: rate(totals.bytesIn, before.bytesIn),
      bytesOut: rate(totals.bytesOut, before.bytesOut),
      connects: rate(totals.accepted, before.accepted),
      disconnects: Math.round((disconnects / seconds) * 100) / 100,
    };
    const resumes = resumesOf(stats);
    const failed = Object.values(resumes.failed).reduce((a, b) => a + b, 0);
    const rtt = this.rtt.percentiles();
    this.history.push({
      t: now,
      connections: stats.connections,
      messagesIn: this.rates.messagesIn,
      messagesOut: this.rates.messagesOut,
      rttP50: rtt.p50,
      rttP90: rtt.p90,
      rttP99: rtt.p99,
      closes: closedNow,
      resumesOk: Math.max(0, resumes.ok - this.resumesBefore.ok),
      resumesFailed: Math.max(0, failed - this.resumesBefore.failed),
    });
    if (this.history.length > this.historyPoints) this.history.shift();
    this.resumesBefore = { ok: resumes.ok, failed };
    this.previous = { at: mono, totals, closes };
    this.rtt.rotate();
    this.sampleStore();
  }

  /** The `GET /stats` document. */
  report(options: StatsReportOptions = {}): StatsReport {
    const stats = this.tether.stats();
    const now = this.clock.now();
    const limit = Math.min(
      Math.max(0, Math.floor(options.connections ?? OPS_DEFAULTS.connectionsListed)),
      OPS_DEFAULTS.maxConnectionsListed,
    );
    const rows: ConnectionRow[] = [];
    const byIp = new Map<string, number>();
    const currentRtt: number[] = [];
    for (const endpoint of this.tether.endpoints.values()) {
      const { heartbeatIntervalMs, heartbeatTimeoutMs } = endpoint.options;
      for (const connection of endpoint.connections.values()) {
        const info = connection.info();
        byIp.set(info.ip, (byIp.get(info.ip) ?? 0) + 1);
        if (info.rttMs !== undefined) currentRtt.push(info.rttMs);
        rows.push(connectionRow(info, now, heartbeatIntervalMs, heartbeatTimeoutMs));
      }
    }
    rows.sort(
      (a, b) => HEALTH_ORDER[a.health] - HEALTH_ORDER[b.health] || a.connectedAt - b.connectedAt,
    );
    const since = options.since;
    return {
      time: now,
      startedAt: this.startedAt,
      uptimeMs: now - this.startedAt,
      state: stats.state,
      intervalMs: this.intervalMs,
      connections: {
        total: stats.connections,
        ready: stats.endpoints.reduce((sum, e) => sum + e.ready, 0),
        byEndpoint: stats.endpoints.map((e) => ({
          path: e.path,
          connections: e.connections,
          ready: e.ready,
        })),
      },
      topIps: [...byIp.entries()]
        .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
        .slice(0, this.topIpCount)
        .map(([ip, connections]) => ({ ip, connections })),
      rates: { ...this.rates },
      totals: totalsOf(stats),
      rtt: { window: this.rtt.percentiles(), current: percentiles(currentRtt) },
      resumes: resumesOf(stats),
      closeCodes: Object.entries(closesOf(stats))
        .map(([code, count]) => ({
          code: Number(code),
          name: closeCodeInfo(Number(code)).name,
          count,
        }))
        .sort((a, b) => b.count - a.count || a.code - b.code),
      topics: stats.topics,
      ...(this.storeStats === undefined ? {} : { store: this.storeStats }),
      history: since === undefined ? [...this.history] : this.history.filter((p) => p.t > since),
      connectionList: rows.slice(0, limit),
      connectionListTruncated: rows.length > limit,
      errors: [...this.errors],
    };
  }

  private attachEndpoints(): void {
    for (const endpoint of this.tether.endpoints.values()) {
      if (this.attached.has(endpoint)) continue;
      this.attached.add(endpoint);
      this.disposers.add(endpoint.on('rtt', ({ rttMs }) => this.rtt.add(rttMs)));
      this.disposers.add(endpoint.on('close', (event) => this.onClose(event)));
    }
  }

  private onClose(event: CloseEvent): void {
    if (isNormalClose(event)) return;
    const info = closeCodeInfo(event.code);
    const connection = event.connection;
    this.recordError({
      kind: 'close',
      code: event.code,
      message: `${info.name}${event.reason === '' ? '' : `: ${event.reason}`} (closed by ${event.initiatedBy})`,
      connection: connection.id,
      ip: connection.ip,
      ...(connection.user === undefined ? {} : { user: connection.user }),
    });
  }

  /** Samples the store's counters without ever running two samples at once. */
  private sampleStore(): void {
    const store = this.options.store;
    if (store === undefined || this.storeSampling) return;
    this.storeSampling = true;
    store.stats().then(
      (s) => {
        this.storeSampling = false;
        this.storeStats = s;
      },
      (err: unknown) => {
        this.storeSampling = false;
        this.recordError({
          kind: 'store',
          message: `store stats failed: ${err instanceof Error ? err.message : String(err)}`,
        });
      },
    );
  }
}
