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

/** Sums of the endpoints' counters, for `/stats`. */
export function totalsOf(stats: ServerStats): StatsTotals {
  const t: StatsTotals = {
    accepted: 0,
    refused: {},
    messagesIn: 0,
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
  };
  for (const e of stats.endpoints) {
    t.accepted += e.accepted;
    for (const [reason, n] of Object.entries(e.refused))
      t.refused[reason] = (t.refused[reason] ?? 0) + n;
    t.messagesIn += e.messagesIn;
    t.messagesOut += e.messagesOut;
    t.bytesIn += e.bytesIn;
    t.bytesOut += e.bytesOut;
    t.heartbeatTimeouts += e.heartbeatTimeouts;
    t.handshakeTimeouts += e.handshakeTimeouts;
    t.slowConsumers += e.slowConsumers;
    t.rateLimited += e.rateLimited;
    t.errorFrames += e.errors;
    t.replayed += e.replayed;
    t.duplicates += e.duplicates;
  }
  return t;
}

export function closesOf(stats: ServerStats): Record<string, number> {
  const closes: Record<string, number> = {};
  for (const e of stats.endpoints) {
    for (const [code, n] of Object.entries(e.closes)) closes[code] = (closes[code] ?? 0) + n;
  }
  return closes;
}

export function resumesOf(stats: ServerStats): { ok: number; failed: Record<string, number> } {
  let ok = 0;
  const failed: Record<string, number> = {};
  for (const e of stats.endpoints) {
    ok += e.resumes.ok;
    for (const [reason, n] of Object.entries(e.resumes.failed)) {
      failed[reason] = (failed[reason] ?? 0) + n;
    }
  }
  return { ok, failed };
}
