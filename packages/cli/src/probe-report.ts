import { formatDuration } from '@tether/common';
import type { ProbeArgs } from './probe-args.js';
import type { ProbeRecord, RttSample } from './probe-connection.js';
import { diagnoseClose, diagnoseFailure } from './probe-diagnosis.js';

/** RTT summary in milliseconds. */
export interface RttSummary {
  samples: number;
  minMs: number;
  avgMs: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** The probe's result: what `--json` prints. */
export interface ProbeReport {
  url: string;
  mode: 'tether' | 'raw';
  healthy: boolean;
  /** Why it is not healthy (empty when healthy). */
  problems: string[];
  startedAt: string;
  requestedMs: number;
  heldMs: number;
  interrupted: boolean;
  connect: { upgradeMs: number | null; openMs: number | null; welcomeMs: number | null };
  subprotocol: string | null;
  welcome: ProbeRecord['welcome'] | null;
  rtt: RttSummary | null;
  rttSamples: RttSample[];
  pings: ProbeRecord['pings'];
  messages: ProbeRecord['messages'];
  frames: Record<string, number>;
  heartbeats: ProbeRecord['heartbeats'];
  serverErrors: ProbeRecord['serverErrors'];
  close: {
    code: number;
    name: string;
    meaning: string;
    reason: string;
    by: 'server' | 'network' | 'probe';
    afterMs: number;
    silenceMs: number;
    likelyCause: string;
  } | null;
  failure: { summary: string; likelyCause: string; status: number | null } | null;
}

/** Rounds to 0.01 ms. */
const round = (ms: number): number => Math.round(ms * 100) / 100;

/** Percentile by nearest rank over sorted values. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] as number;
}

export function summarizeRtt(samples: readonly RttSample[]): RttSummary | null {
  if (samples.length === 0) return null;
  const sorted = samples.map((s) => s.rttMs).sort((a, b) => a - b);
  const sum = sorted.reduce((a, b) => a + b, 0);
  return {
    samples: sorted.length,
    minMs: round(sorted[0] as number),
    avgMs: round(sum / sorted.length),
    p50Ms: round(percentile(sorted, 50)),
    p90Ms: round(percentile(sorted, 90)),
    p99Ms: round(percentile(sorted, 99)),
    maxMs: round(sorted[sorted.length - 1] as number),
  };
}

/** Builds the report and the verdict from what the probe saw. */
export function buildProbeReport(args: ProbeArgs, record: ProbeRecord): ProbeReport {
  const problems: string[] = [];
  const rtt = summarizeRtt(record.samples);
  let failure: ProbeReport['failure'] = null;
  if (record.failure !== undefined) {
    const likelyCause = diagnoseFailure({
      ...record.failure,
      hadToken: args.token !== undefined,
      raw: args.raw,
    });
    const summary =
      record.failure.status !== undefined
        ? `upgrade refused with HTTP ${record.failure.status}`
        : record.failure.timedOut !== undefined
          ? `timed out waiting for the ${record.failure.timedOut === 'open' ? 'upgrade' : 'welcome'}`
          : `connection failed: ${record.failure.errorCode ?? record.failure.errorMessage ?? 'error'}`;
    failure = { summary, likelyCause, status: record.failure.status ?? null };
    problems.push(`${summary}: ${likelyCause}`);
  }
  let close: ProbeReport['close'] = null;
  if (record.close !== undefined) {
    const d = diagnoseClose({ ...record.close, hadToken: args.token !== undefined, raw: args.raw });
    close = {
      code: record.close.code,
      name: d.name,
      meaning: d.meaning,
      reason: record.close.reason,
      by: record.close.by,
      afterMs: round(record.close.afterMs),
      silenceMs: round(record.close.silenceMs),
      likelyCause: d.likelyCause,
    };
    const who = { server: 'by the server', network: 'by the network', probe: 'by the probe' }[
      record.close.by
    ];
    problems.push(
      `closed ${who} after ${formatDuration(record.close.afterMs)}: ${record.close.code} ${d.name}`,
    );
  }
  if (record.pings.timedOut > 0 && record.close?.by !== 'probe') {
    problems.push(`${record.pings.timedOut} ping(s) unanswered in time`);
  }
  if (args.maxRttMs !== undefined && rtt !== null && rtt.p99Ms > args.maxRttMs) {
    problems.push(`p99 RTT ${rtt.p99Ms} ms is above --max-rtt ${args.maxRttMs} ms`);
  }
  if (record.serverErrors.length > 0) {
    const codes = [...new Set(record.serverErrors.map((e) => e.code))].join(', ');
    problems.push(`the server sent ${record.serverErrors.length} error frame(s): ${codes}`);
  }
  if (
    failure === null &&
    close === null &&
    args.pingIntervalMs > 0 &&
    record.pings.sent > 0 &&
    rtt === null
  ) {
    problems.push('no ping was answered');
  }
  return {
    url: record.url,
    mode: record.mode,
    healthy: problems.length === 0,
    problems,
    startedAt: new Date(record.startedAt).toISOString(),
    requestedMs: args.durationMs,
    heldMs: round(record.heldMs),
    interrupted: record.interrupted,
    connect: {
      upgradeMs: nullableRound(record.upgradeMs),
      openMs: nullableRound(record.openMs),
      welcomeMs: nullableRound(record.welcomeMs),
    },
    subprotocol: record.subprotocol ?? null,
    welcome: record.welcome ?? null,
    rtt,
    rttSamples: record.samples.map((s) => ({ atMs: round(s.atMs), rttMs: round(s.rttMs) })),
    pings: record.pings,
    messages: record.messages,
    frames: record.frames,
    heartbeats: record.heartbeats,
    serverErrors: record.serverErrors,
    close,
    failure,
  };
}

function nullableRound(ms: number | undefined): number | null {
  return ms === undefined ? null : round(ms);
}

/** The report as text lines (the summary printed after the live lines). */
export function formatProbeSummary(report: ProbeReport): string[] {
  const lines: string[] = [];
  if (report.failure !== null) {
    lines.push(`failed: ${report.failure.summary}`, `likely cause: ${report.failure.likelyCause}`);
  }
  if (report.close !== null) {
    const c = report.close;
    lines.push(
      `closed ${c.by === 'server' ? 'by the server' : c.by === 'network' ? 'by the network' : 'by the probe'} after ${formatDuration(c.afterMs)}: ${c.code} ${c.name}${c.reason ? ` "${c.reason}"` : ''}`,
      `  meaning: ${c.meaning}`,
      `  likely cause: ${c.likelyCause}`,
    );
  }
  if (report.failure === null) {
    const r = report.rtt;
    lines.push(
      r === null
        ? 'rtt: no samples'
        : `rtt: min ${r.minMs} / avg ${r.avgMs} / p50 ${r.p50Ms} / p90 ${r.p90Ms} / p99 ${r.p99Ms} / max ${r.maxMs} ms (${r.samples} samples)`,
      `pings: ${report.pings.sent} sent, ${report.pings.answered} answered, ${report.pings.timedOut} timed out`,
      `messages: ${report.messages.in} in (${report.messages.bytesIn} bytes), ${report.messages.out} out; heartbeats from the server: ${report.heartbeats.app} app, ${report.heartbeats.ws} WebSocket`,
      `held ${formatDuration(report.heldMs)} of ${formatDuration(report.requestedMs)}${report.interrupted ? ' (interrupted)' : ''}`,
    );
  }
  lines.push(
    report.healthy ? 'verdict: HEALTHY' : `verdict: UNHEALTHY (${report.problems.join('; ')})`,
  );
  return lines;
}

/** The first line after the connection opened. */
export function formatProbeOpen(record: ProbeRecord): string {
  const parts = [`connected in ${fmtMs(record.openMs)}`];
  if (record.upgradeMs !== undefined) parts[0] += ` (upgrade ${fmtMs(record.upgradeMs)})`;
  if (record.welcome !== undefined) {
    const hb = record.welcome.heartbeat;
    parts.push(
      `welcome in ${fmtMs(record.welcomeMs)}: session ${record.welcome.sessionId}, heartbeat ${formatDuration(hb.intervalMs)} + ${formatDuration(hb.timeoutMs)}, resume window ${formatDuration(record.welcome.resumeWindowMs)}`,
    );
  } else if (record.subprotocol !== undefined) {
    parts.push(`subprotocol ${record.subprotocol}`);
  }
  return parts.join(', ');
}

export function fmtMs(ms: number | undefined): string {
  if (ms === undefined) return '-';
  return ms < 10 ? `${ms.toFixed(2)} ms` : `${Math.round(ms)} ms`;
}
