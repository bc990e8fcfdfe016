import type { StatsReport } from '@tether/server/ops';
import { describe, expect, it } from 'vitest';
import { CLUSTER_DEFAULTS, restartDelayMs } from '../src/cluster-primary.js';
import { mergeStats, type WorkerSlotState } from '../src/cluster-stats.js';

/** A worker's report with `connections` open, `messagesIn` received and one history point. */
function report(connections: number, messagesIn: number, rttP99: number | null): StatsReport {
  const rtt = { p50: rttP99, p90: rttP99, p99: rttP99, max: rttP99, count: connections };
  return {
    time: 1_000_000,
    startedAt: 900_000,
    uptimeMs: 100_000,
    state: 'running',
    intervalMs: 1_000,
    connections: {
      total: connections,
      ready: connections,
      byEndpoint: [{ path: '/ws', connections, ready: connections }],
    },
    topIps: [{ ip: '127.0.0.1', connections }],
    rates: { messagesIn, messagesOut: 0, bytesIn: 0, bytesOut: 0, connects: 0, disconnects: 0 },
    totals: {
      accepted: connections,
      refused: { perIp: 1 },
      messagesIn,
      messagesOut: 0,
      bytesIn: 0,
      bytesOut: 0,
      heartbeatTimeouts: 0,
      handshakeTimeouts: 0,
      slowConsumers: 0,
      rateLimited: 0,
      errorFrames: 0,
      replayed: 0,
      duplicates: 0,
    },
    rtt: { window: rtt, current: rtt },
    resumes: { ok: 1, failed: {} },
    closeCodes: [{ code: 1000, name: 'normal', count: 2 }],
    topics: { topics: 3, subscriptions: connections, publications: 5 },
    history: [
      {
        t: 999_500,
        connections,
        messagesIn,
        messagesOut: 0,
        rttP50: rttP99,
        rttP90: rttP99,
        rttP99,
        closes: { '1000': 1 },
        resumesOk: 0,
        resumesFailed: 0,
      },
    ],
    connectionList: [],
    connectionListTruncated: false,
    errors: [{ at: connections, kind: 'close', message: `from ${connections}` }],
  };
}

const slots: WorkerSlotState[] = [
  { slot: 1, pid: 11, state: 'running', restarts: 0 },
  { slot: 2, pid: 22, state: 'running', restarts: 1 },
  { slot: 3, pid: 0, state: 'restarting', restarts: 2 },
];

describe('the primary of tether serve --workers', () => {
  it('replaces the first dead worker at once, then backs off doubling to a bound', () => {
    expect(restartDelayMs(1)).toBe(0);
    expect(restartDelayMs(2)).toBe(CLUSTER_DEFAULTS.restartBaseDelayMs);
    expect(restartDelayMs(3)).toBe(CLUSTER_DEFAULTS.restartBaseDelayMs * 2);
    expect(restartDelayMs(4)).toBe(CLUSTER_DEFAULTS.restartBaseDelayMs * 4);
    expect(restartDelayMs(1_000)).toBe(CLUSTER_DEFAULTS.restartMaxDelayMs);
  });

  it('merges the workers’ /stats: counts summed, latency bounded by the worst, a row per slot', () => {
    const merged = mergeStats(
      [
        { slot: 1, pid: 11, rssBytes: 100, report: report(4, 10, 0.002) },
        { slot: 2, pid: 22, rssBytes: 200, report: report(6, 5, 0.009) },
      ],
      slots,
    ) as StatsReport & { workers: number; perWorker: unknown[] };
    expect(merged.workers).toBe(3);
    expect(merged.connections).toEqual({
      total: 10,
      ready: 10,
      byEndpoint: [{ path: '/ws', connections: 10, ready: 10 }],
    });
    expect(merged.topIps).toEqual([{ ip: '127.0.0.1', connections: 10 }]);
    expect(merged.rates.messagesIn).toBe(15);
    expect(merged.totals).toMatchObject({ accepted: 10, messagesIn: 15, refused: { perIp: 2 } });
    expect(merged.rtt.window).toEqual({
      p50: 0.009,
      p90: 0.009,
      p99: 0.009,
      max: 0.009,
      count: 10,
    });
    expect(merged.closeCodes).toEqual([{ code: 1000, name: 'normal', count: 4 }]);
    expect(merged.topics).toEqual({ topics: 3, subscriptions: 10, publications: 10 });
    expect(merged.history).toEqual([
      expect.objectContaining({
        t: 999_000,
        connections: 10,
        messagesIn: 15,
        rttP99: 0.009,
        closes: { '1000': 2 },
      }),
    ]);
    expect(merged.errors.map((e) => e.message)).toEqual(['from 6', 'from 4']);
    expect(merged.perWorker).toEqual([
      expect.objectContaining({ slot: 1, pid: 11, answered: true, connections: 4, rssBytes: 100 }),
      expect.objectContaining({ slot: 2, pid: 22, answered: true, connections: 6, restarts: 1 }),
      expect.objectContaining({ slot: 3, state: 'restarting', answered: false, connections: null }),
    ]);
  });

  it('still lists the slots when no worker answered', () => {
    expect(mergeStats([], slots)).toEqual({
      workers: 3,
      perWorker: slots.map((s) =>
        expect.objectContaining({ slot: s.slot, answered: false, connections: null }),
      ),
    });
  });
});
