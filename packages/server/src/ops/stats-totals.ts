import { sumByKey, sumCounts } from '@tether/common';
import { CloseCode } from '@tether/protocol';
import type { CloseEvent } from '../connection-types.js';
import type { ServerStats } from '../tether-server.js';
import type { StatsTotals } from './stats-report.js';

/**
 * Closes that are part of normal life and do not belong in the errors list: a client
 * leaving (1000, 1001), the server's own drain (1012), a session taken over by a newer
 * connection (4010).
 */
export function isNormalClose(event: CloseEvent): boolean {
  const code = event.code;
  if (code === CloseCode.NORMAL || code === CloseCode.GOING_AWAY) return true;
  if (code === CloseCode.SERVICE_RESTART && event.initiatedBy === 'server') return true;
  return code === CloseCode.SESSION_REPLACED;
}

/** The totals that are plain sums of the endpoint counter of the same name, in report order. */
const SUMMED = [
  'accepted',
  'messagesIn',
  'messagesOut',
  'bytesIn',
  'bytesOut',
  'heartbeatTimeouts',
  'handshakeTimeouts',
  'slowConsumers',
  'rateLimited',
  'errorFrames',
  'replayed',
  'duplicates',
] as const satisfies readonly (keyof StatsTotals)[];

/** Sums of the endpoints' counters, for `/stats`. */
export function totalsOf(stats: ServerStats): StatsTotals {
  const counters = stats.endpoints.map((e) => ({ ...e, errorFrames: e.errors }));
  const { accepted, ...sums } = sumCounts(counters, SUMMED);
  // `refused` second: the keys keep the order /stats has always shown.
  return { accepted, refused: sumByKey(stats.endpoints.map((e) => e.refused)), ...sums };
}

export function closesOf(stats: ServerStats): Record<string, number> {
  return sumByKey(stats.endpoints.map((e) => e.closes));
}

export function resumesOf(stats: ServerStats): { ok: number; failed: Record<string, number> } {
  return {
    ok: stats.endpoints.reduce((ok, e) => ok + e.resumes.ok, 0),
    failed: sumByKey(stats.endpoints.map((e) => e.resumes.failed)),
  };
}
