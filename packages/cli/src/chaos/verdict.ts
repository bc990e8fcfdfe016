import { formatDuration } from '@tether/common';
import { formatTable } from '../bench/table.js';
import type { ChaosAuditArgs, FaultPlan } from './args.js';
import type { ChaosObservations } from './audit.js';
import { isClean } from './sequence-audit.js';

/** Detection times of half-open links, in ms. */
export interface DetectionSummary {
  stalls: number;
  detectedByClient: number;
  detectedByServer: number;
  clientAvgMs: number | null;
  clientMaxMs: number | null;
  serverAvgMs: number | null;
  serverMaxMs: number | null;
  /** Stalls long enough to require detection that a side did not detect. */
  undetected: number;
  /** Stalls shorter than the heartbeat deadline (cut short by the end of the run): detection not required. */
  shortStalls: number;
  /** Stalls of a link still in its handshake (no heartbeats yet; the connect timeout covers it): detection not required. */
  handshakeStalls: number;
}

/** The audit's result: what `--json` prints. Clean means exit status 0. */
export interface ChaosVerdict {
  clean: boolean;
  problems: string[];
  faults: FaultPlan;
  store: string;
  heartbeat: { intervalMs: number; timeoutMs: number };
  observations: ChaosObservations;
  halfOpen: DetectionSummary;
}

function stats(values: number[]): { avg: number | null; max: number | null } {
  if (values.length === 0) return { avg: null, max: null };
  return {
    avg: Math.round(values.reduce((a, b) => a + b, 0) / values.length),
    max: Math.max(...values),
  };
}

export function summarizeDetections(obs: ChaosObservations): DetectionSummary {
  const client = obs.detections.flatMap((d) => (d.clientMs === undefined ? [] : [d.clientMs]));
  const server = obs.detections.flatMap((d) => (d.serverMs === undefined ? [] : [d.serverMs]));
  const c = stats(client);
  const s = stats(server);
  return {
    stalls: obs.detections.length,
    detectedByClient: client.length,
    detectedByServer: server.length,
    clientAvgMs: c.avg,
    clientMaxMs: c.max,
    serverAvgMs: s.avg,
    serverMaxMs: s.max,
    undetected: obs.detections.filter(
      (d) => d.mustDetect && (d.clientMs === undefined || d.serverMs === undefined),
    ).length,
    shortStalls: obs.detections.filter((d) => d.established && !d.mustDetect).length,
    handshakeStalls: obs.detections.filter((d) => !d.established).length,
  };
}

/** Judges the observations: clean only when nothing was lost, doubled or reordered, and every half-open link was detected. */
export function judgeAudit(args: ChaosAuditArgs, obs: ChaosObservations): ChaosVerdict {
  const problems: string[] = [];
  const halfOpen = summarizeDetections(obs);
  const p = obs.publications;
  const s = obs.sends;
  if (!isClean(p)) {
    problems.push(
      `publications: ${p.lost} lost, ${p.duplicated} duplicated, ${p.reordered} reordered, ${p.unexpected} unexpected`,
    );
  }
  if (obs.publishErrors > 0) problems.push(`${obs.publishErrors} publishes refused by the server`);
  if (!isClean(s)) {
    problems.push(
      `client sends: ${s.lost} lost, ${s.duplicated} processed twice, ${s.reordered} out of order, ${s.unexpected} unexpected`,
    );
  }
  if (obs.sendsAcked < obs.sendsIssued)
    problems.push(`${obs.sendsIssued - obs.sendsAcked} sends never acknowledged`);
  if (obs.gapSignals > 0)
    problems.push(`${obs.gapSignals} gap signals (history could not cover a reconnect)`);
  if (obs.resumeFailures > 0) problems.push(`${obs.resumeFailures} sessions not resumed`);
  if (obs.notOpenAtEnd > 0) problems.push(`${obs.notOpenAtEnd} clients not connected at the end`);
  if (halfOpen.undetected > 0)
    problems.push(`${halfOpen.undetected} half-open links not detected by both sides`);
  return {
    clean: problems.length === 0,
    problems,
    faults: args.faults,
    store: args.store,
    heartbeat: { intervalMs: args.heartbeatIntervalMs, timeoutMs: args.heartbeatTimeoutMs },
    observations: obs,
    halfOpen,
  };
}

/** The fault plan in words. */
export function describeFaults(f: FaultPlan): string {
  const parts: string[] = [];
  if (f.latencyMs > 0 || f.jitterMs > 0)
    parts.push(`latency ${f.latencyMs} ms + jitter 0-${f.jitterMs} ms`);
  if (f.bandwidth !== undefined) parts.push(`bandwidth ${f.bandwidth} B/s`);
  if (f.resetEveryMs !== undefined)
    parts.push(`reset one link every ~${formatDuration(f.resetEveryMs)}`);
  if (f.stallEveryMs !== undefined) {
    parts.push(
      `stall one link every ~${formatDuration(f.stallEveryMs)} for ${formatDuration(f.stallForMs)}`,
    );
  }
  if (f.cutEveryMs !== undefined)
    parts.push(`cut every link every ${formatDuration(f.cutEveryMs)}`);
  return parts.length === 0 ? 'none' : parts.join(', ');
}

const ms = (v: number | null): string => (v === null ? 'n/a' : formatDuration(v));

/** The verdict as text. */
export function formatChaosVerdict(v: ChaosVerdict): string[] {
  const o = v.observations;
  const h = v.halfOpen;
  const row = (name: string, produced: number, r: typeof o.publications) => [
    name,
    produced,
    r.delivered,
    r.lost,
    r.duplicated,
    r.reordered,
  ];
  return [
    `tether chaos audit: ${o.clients} clients for ${formatDuration(o.durationMs)}, store ${v.store}, heartbeat ${formatDuration(v.heartbeat.intervalMs)} + ${formatDuration(v.heartbeat.timeoutMs)}`,
    `faults: ${describeFaults(v.faults)}`,
    '',
    ...formatTable(
      ['stream', 'expected', 'delivered', 'lost', 'duplicated', 'reordered'],
      [
        row(
          `publications (${o.published} x ${o.clients} clients)`,
          o.publications.expected,
          o.publications,
        ),
        row('client sends (processed by the server)', o.sends.expected, o.sends),
      ],
    ),
    '',
    `reconnects: ${o.reconnects} (resets ${o.faults.resets} -> ${o.faults.resetPairs} links, cuts ${o.faults.cuts} -> ${o.faults.cutPairs} links, stalls ${o.faults.stalls.length}); closes by code: ${
      Object.entries(o.closesByCode)
        .map(([code, n]) => `${code} x${n}`)
        .join(', ') || 'none'
    }`,
    `sessions not resumed: ${o.resumeFailures}; gap signals: ${o.gapSignals}; sends acknowledged: ${o.sendsAcked}/${o.sendsIssued}; settled in ${formatDuration(o.settleMs)}`,
    `half-open links: ${h.stalls} stalls; detected by the client in ${ms(h.clientAvgMs)} avg (max ${ms(h.clientMaxMs)}, ${h.detectedByClient}/${h.stalls}), by the server in ${ms(h.serverAvgMs)} avg (max ${ms(h.serverMaxMs)}, ${h.detectedByServer}/${h.stalls})${h.shortStalls > 0 ? `; ${h.shortStalls} shorter than the heartbeat deadline (need not be detected)` : ''}${h.handshakeStalls > 0 ? `; ${h.handshakeStalls} during a handshake (no heartbeats yet, need not be detected)` : ''}`,
    v.clean ? 'verdict: CLEAN' : `verdict: NOT CLEAN (${v.problems.join('; ')})`,
  ];
}
