import {
  type ConnectionHealth,
  OPS_DEFAULTS,
  type RecentError,
  type RttPercentiles,
  type StatsPoint,
  type StatsReport,
} from '@tether/server/ops';
import type { WorkerIdentity } from './cluster-messages.js';

/**
 * `/stats` of `tether serve --workers N`: the workers' reports as one, in the shape of a
 * single hub's (so the dashboard draws it as it is), plus `workers` and a row per
 * worker. Counts and rates are summed; the store's shared contents (sessions, topics,
 * publications: one Redis for all) are taken once; latency percentiles cannot be
 * summed, so each is the highest of the workers' (the row per worker has its own).
 */

/** One worker's local report, with who it is and its process's memory. */
export interface WorkerStats extends WorkerIdentity {
  /** The worker's report, with the hub's own sections (`backend`). */
  report: StatsReport;
  rssBytes: number;
}

/** A worker slot the primary holds, answering or not. */
export interface WorkerSlotState extends WorkerIdentity {
  /** `running`, `starting` (forked, not listening yet), `restarting` (waiting to be forked). */
  state: 'running' | 'starting' | 'restarting';
  restarts: number;
}

/** What the primary adds to the merged report. */
export interface ClusterStats {
  /** Worker processes configured (`--workers`). */
  workers: number;
  /** One row per slot; `connections` and `rssBytes` are null for a worker that did not answer. */
  perWorker: Array<
    WorkerSlotState & {
      connections: number | null;
      ready: number | null;
      rssBytes: number | null;
      uptimeMs: number | null;
      answered: boolean;
    }
  >;
}

const HEALTH_RANK: Record<ConnectionHealth, number> = {
  stale: 0,
  degraded: 1,
  closing: 2,
  connecting: 3,
  ok: 4,
};

const sum = (values: number[]): number => values.reduce((a, b) => a + b, 0);

function sumRecord(records: Array<Record<string, number>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const record of records) {
    for (const [key, value] of Object.entries(record)) out[key] = (out[key] ?? 0) + value;
  }
  return out;
}

/** The highest non-null value, or null. */
function highest(values: Array<number | null>): number | null {
  const present = values.filter((v): v is number => v !== null);
  return present.length === 0 ? null : Math.max(...present);
}

/** Sums every numeric field of objects of one shape; non-numeric fields come from the first. */
function sumFields<T extends object>(items: T[]): T {
  const first = items[0] as T;
  const out = { ...first } as Record<string, unknown>;
  for (const [key, value] of Object.entries(first)) {
    if (typeof value === 'number') {
      out[key] = sum(items.map((i) => (i as Record<string, number>)[key] ?? 0));
    } else if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      out[key] = sumRecord(
        items.map((i) => (i as Record<string, Record<string, number>>)[key] ?? {}),
      );
    }
  }
  return out as T;
}

/** History points of every worker, in buckets of one interval, summed. */
function mergeHistory(reports: StatsReport[], intervalMs: number): StatsPoint[] {
  const buckets = new Map<number, StatsPoint[]>();
  for (const report of reports) {
    for (const point of report.history) {
      const at = Math.floor(point.t / intervalMs) * intervalMs;
      buckets.set(at, [...(buckets.get(at) ?? []), point]);
    }
  }
  return [...buckets.entries()]
    .sort(([a], [b]) => a - b)
    .map(([t, points]) => ({
      t,
      connections: sum(points.map((p) => p.connections)),
      messagesIn: sum(points.map((p) => p.messagesIn)),
      messagesOut: sum(points.map((p) => p.messagesOut)),
      rttP50: highest(points.map((p) => p.rttP50)),
      rttP90: highest(points.map((p) => p.rttP90)),
      rttP99: highest(points.map((p) => p.rttP99)),
      closes: sumRecord(points.map((p) => p.closes)),
      resumesOk: sum(points.map((p) => p.resumesOk)),
      resumesFailed: sum(points.map((p) => p.resumesFailed)),
    }));
}

/** Entries of lists keyed by `key`, with `count` summed; the largest first, at most `limit`. */
function mergeCounted<T, K extends keyof T>(
  lists: T[][],
  key: K,
  count: keyof T,
  limit: number,
): T[] {
  const merged = new Map<unknown, T>();
  for (const list of lists) {
    for (const item of list) {
      const seen = merged.get(item[key]) as T | undefined;
      merged.set(
        item[key],
        seen === undefined || seen === null
          ? { ...item }
          : { ...seen, [count]: (seen[count] as number) + (item[count] as number) },
      );
    }
  }
  return [...merged.values()]
    .sort((a, b) => (b[count] as number) - (a[count] as number))
    .slice(0, limit);
}

/**
 * Merges the answers of the workers into one report. `slots` lists every slot the
 * primary holds (a worker that did not answer shows there with nulls).
 */
export function mergeStats(
  answers: WorkerStats[],
  slots: WorkerSlotState[],
  /** Rows of `connectionList` asked for (`?connections=N`). */
  listed: number = OPS_DEFAULTS.connectionsListed,
): (StatsReport & ClusterStats & Record<string, unknown>) | ClusterStats {
  const perWorker = slots.map((slot) => {
    const answer = answers.find((a) => a.slot === slot.slot && a.pid === slot.pid);
    return {
      ...slot,
      answered: answer !== undefined,
      connections: answer?.report.connections.total ?? null,
      ready: answer?.report.connections.ready ?? null,
      rssBytes: answer?.rssBytes ?? null,
      uptimeMs: answer?.report.uptimeMs ?? null,
    };
  });
  const cluster: ClusterStats = { workers: slots.length, perWorker };
  const reports = answers.map((a) => a.report);
  const first = reports[0];
  if (first === undefined) return cluster;
  const states = reports.map((r) => r.state);
  const tagged = <T extends { at?: number }>(
    pick: (r: StatsReport) => T[],
  ): Array<T & { worker: number }> =>
    answers.flatMap((a) => pick(a.report).map((item) => ({ ...item, worker: a.slot })));
  // Least healthy first, as each worker lists them.
  const rows = tagged(
    (r) => r.connectionList as Array<StatsReport['connectionList'][number] & { at?: number }>,
  ).sort((a, b) => HEALTH_RANK[a.health] - HEALTH_RANK[b.health]);
  const stores = reports.map((r) => r.store).filter((s) => s !== undefined);
  const store = stores[0];
  return {
    ...first,
    time: Math.max(...reports.map((r) => r.time)),
    startedAt: Math.min(...reports.map((r) => r.startedAt)),
    uptimeMs: Math.max(...reports.map((r) => r.uptimeMs)),
    state: states.every((s) => s === 'running')
      ? 'running'
      : states.includes('draining')
        ? 'draining'
        : 'closed',
    connections: {
      total: sum(reports.map((r) => r.connections.total)),
      ready: sum(reports.map((r) => r.connections.ready)),
      byEndpoint: mergeEndpoints(reports),
    },
    topIps: mergeCounted(
      reports.map((r) => r.topIps),
      'ip',
      'connections',
      OPS_DEFAULTS.topIps,
    ),
    rates: sumFields(reports.map((r) => r.rates)),
    totals: sumFields(reports.map((r) => r.totals)),
    rtt: {
      window: maxPercentiles(reports.map((r) => r.rtt.window)),
      current: maxPercentiles(reports.map((r) => r.rtt.current)),
    },
    resumes: {
      ok: sum(reports.map((r) => r.resumes.ok)),
      failed: sumRecord(reports.map((r) => r.resumes.failed)),
    },
    closeCodes: mergeCounted(
      reports.map((r) => r.closeCodes),
      'code',
      'count',
      Number.MAX_SAFE_INTEGER,
    ),
    topics: {
      // A topic subscribed on two workers is one topic: the largest count is the floor.
      topics: Math.max(...reports.map((r) => r.topics.topics)),
      subscriptions: sum(reports.map((r) => r.topics.subscriptions)),
      publications: sum(reports.map((r) => r.topics.publications)),
    },
    ...(store === undefined
      ? {}
      : {
          store: {
            ...store,
            // One shared store: its contents once; each worker's own client work summed.
            operations: sum(stores.map((s) => s.operations)),
            failedOperations: sum(stores.map((s) => s.failedOperations)),
            pendingOperations: sum(stores.map((s) => s.pendingOperations)),
            transactions: sum(stores.map((s) => s.transactions)),
            largestBatch: Math.max(...stores.map((s) => s.largestBatch)),
          },
        }),
    history: mergeHistory(reports, first.intervalMs),
    connectionList: rows.slice(0, listed),
    connectionListTruncated: reports.some((r) => r.connectionListTruncated) || rows.length > listed,
    errors: tagged((r) => r.errors as RecentError[])
      .sort((a, b) => b.at - a.at)
      .slice(0, OPS_DEFAULTS.recentErrors),
    ...cluster,
  };
}

function mergeEndpoints(reports: StatsReport[]): StatsReport['connections']['byEndpoint'] {
  const byPath = new Map<string, { path: string; connections: number; ready: number }>();
  for (const report of reports) {
    for (const e of report.connections.byEndpoint) {
      const seen = byPath.get(e.path) ?? { path: e.path, connections: 0, ready: 0 };
      byPath.set(e.path, {
        path: e.path,
        connections: seen.connections + e.connections,
        ready: seen.ready + e.ready,
      });
    }
  }
  return [...byPath.values()];
}

/** Each percentile the highest of the workers' (a bound, not the merged percentile); counts summed. */
function maxPercentiles(items: RttPercentiles[]): RttPercentiles {
  return {
    p50: highest(items.map((i) => i.p50)),
    p90: highest(items.map((i) => i.p90)),
    p99: highest(items.map((i) => i.p99)),
    max: highest(items.map((i) => i.max)),
    count: sum(items.map((i) => i.count)),
  };
}
