import { type BenchArgs, parseBenchArgs } from './args.js';
import { startChildHub } from './hub.js';
import type { AdapterSpec } from './load-adapter.js';
import { describeMachine, type MachineInfo, machineInfo } from './machine.js';
import { LocalPool } from './pool.js';
import { Progress } from './progress.js';
import type { Scenario, ScenarioResult } from './scenario.js';
import { echoScenario } from './scenarios/echo.js';
import { fanoutScenario } from './scenarios/fanout.js';
import { idleScenario } from './scenarios/idle.js';
import { formatValue, markdownTable } from './table.js';

/**
 * Tether against raw `ws` and Socket.IO in one run (`npm run bench:compare`): the same
 * scenarios, payloads and client counts for each; each server in a child process of its
 * own (its CPU measured with `process.cpuUsage()`, its memory after a full GC); the load
 * clients in this process. Scenarios run interleaved (idle for each server, then fan-out
 * for each, ...), so slow drifts in machine load spread over all of them.
 */

/** One server under comparison. */
export interface CompareTarget {
  name: string;
  version: string;
  /** Its server child entry: speaks the bench hub's IPC commands (publish, usage, gc, close). */
  entry: string;
  adapter: AdapterSpec;
}

export interface CompareOptions {
  idleConnections: number;
  subscribers: number;
  batch: number;
  payloadBytes: number;
  echoClients: number;
  echoRate: number;
  warmupMs: number;
  durationMs: number;
}

export const COMPARE_DEFAULTS: CompareOptions = {
  idleConnections: 1_000,
  subscribers: 500,
  batch: 20,
  payloadBytes: 64,
  echoClients: 50,
  echoRate: 50,
  warmupMs: 1_000,
  durationMs: 5_000,
};

/** The numbers of one server. */
export interface TargetNumbers {
  name: string;
  version: string;
  values: Record<string, number | null>;
  failures: string[];
}

export interface CompareReport {
  startedAt: string;
  finishedAt: string;
  machine: MachineInfo;
  /** Load averages at the end (the start is in `machine`). */
  loadAfter: [number, number, number];
  options: CompareOptions;
  targets: TargetNumbers[];
}

/** The compared metrics: scenario, metric key, label, unit, and which way is better. */
export const COMPARED: ReadonlyArray<{
  scenario: 'idle' | 'fanout' | 'echo';
  key: string;
  label: string;
  unit: string;
  better: 'higher' | 'lower';
}> = [
  {
    scenario: 'fanout',
    key: 'deliveredPerSec',
    label: 'fan-out: delivered messages/s',
    unit: '',
    better: 'higher',
  },
  {
    scenario: 'fanout',
    key: 'deliveredPerCpuSec',
    label: 'fan-out: delivered per server CPU-second',
    unit: '',
    better: 'higher',
  },
  {
    scenario: 'fanout',
    key: 'serverCpuPercent',
    label: 'fan-out: server CPU',
    unit: '%',
    better: 'lower',
  },
  { scenario: 'echo', key: 'p50Ms', label: 'echo latency p50', unit: 'ms', better: 'lower' },
  { scenario: 'echo', key: 'p99Ms', label: 'echo latency p99', unit: 'ms', better: 'lower' },
  { scenario: 'echo', key: 'maxMs', label: 'echo latency max', unit: 'ms', better: 'lower' },
  {
    scenario: 'echo',
    key: 'serverCpuPercent',
    label: 'echo: server CPU',
    unit: '%',
    better: 'lower',
  },
  {
    scenario: 'idle',
    key: 'rssPerConnectionKiB',
    label: 'idle: server RSS per connection',
    unit: 'KiB',
    better: 'lower',
  },
  {
    scenario: 'idle',
    key: 'heapPerConnectionKiB',
    label: 'idle: server heap per connection',
    unit: 'KiB',
    better: 'lower',
  },
];

const SCENARIOS: ReadonlyArray<['idle' | 'fanout' | 'echo', Scenario]> = [
  ['idle', idleScenario],
  ['fanout', fanoutScenario],
  ['echo', echoScenario],
];

function benchArgs(options: CompareOptions): BenchArgs {
  return {
    ...parseBenchArgs([]),
    connections: options.idleConnections,
    subscribers: options.subscribers,
    batch: options.batch,
    payloadBytes: options.payloadBytes,
    echoClients: options.echoClients,
    echoRate: options.echoRate,
    warmupMs: options.warmupMs,
    durationMs: options.durationMs,
    holdMs: 1_000,
  };
}

/** Runs every scenario against every target. */
export async function runComparison(
  targets: readonly CompareTarget[],
  options: CompareOptions = COMPARE_DEFAULTS,
  progress: Progress = Progress.silent(),
): Promise<CompareReport> {
  const startedAt = new Date().toISOString();
  const machine = machineInfo();
  const args = benchArgs(options);
  const numbers: TargetNumbers[] = targets.map((t) => ({
    name: t.name,
    version: t.version,
    values: {},
    failures: [],
  }));
  for (const [scenario, run] of SCENARIOS) {
    for (const [i, target] of targets.entries()) {
      const into = numbers[i] as TargetNumbers;
      const hub = await startChildHub({ host: '127.0.0.1', port: 0 }, target.entry);
      const pool = new LocalPool();
      let result: ScenarioResult;
      try {
        progress.phase(
          `${target.name}: ${scenario}`,
          options.warmupMs + options.durationMs + 3_000,
        );
        result = await run({
          args,
          hub,
          pool,
          adapter: target.adapter,
          addresses: ['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4'],
          progress,
          startBenchHub: () => Promise.reject(new Error('not used by the compared scenarios')),
        });
      } catch (err) {
        result = {
          scenario,
          metrics: [],
          failures: [`failed: ${err instanceof Error ? err.message : String(err)}`],
          notes: [],
        };
      } finally {
        await pool.closeAll();
        await hub.close();
      }
      for (const m of result.metrics) into.values[`${scenario}.${m.key}`] = m.value;
      into.failures.push(...result.failures.map((f) => `${scenario}: ${f}`));
    }
  }
  progress.clear();
  const after = machineInfo();
  return {
    startedAt,
    finishedAt: new Date().toISOString(),
    machine,
    loadAfter: after.loadAverage,
    options,
    targets: numbers,
  };
}

/** `a / b`, or null when either is missing or b is 0. */
export function ratio(a: number | null | undefined, b: number | null | undefined): number | null {
  if (a === null || a === undefined || b === null || b === undefined || b === 0) return null;
  return Math.round((a / b) * 100) / 100;
}

/** Rows of metric | each target | Tether/other ratios (the first target is Tether). */
export function comparisonRows(report: CompareReport): Array<Array<string>> {
  const [first, ...others] = report.targets;
  if (first === undefined) return [];
  return COMPARED.map((c) => {
    const key = `${c.scenario}.${c.key}`;
    const own = first.values[key];
    return [
      `${c.label} (${c.better} is better)`,
      ...report.targets.map((t) => formatValue(t.values[key] ?? null, c.unit)),
      ...others.map((o) => {
        const r = ratio(own, o.values[key]);
        return r === null ? 'n/a' : `${r}×`;
      }),
    ];
  });
}

/** bench/RESULTS.md. */
export function renderComparisonMarkdown(report: CompareReport, tetherVersion: string): string {
  const [first, ...others] = report.targets;
  const headers = [
    'metric',
    ...report.targets.map((t) => t.name),
    ...others.map((o) => `${first?.name ?? ''}/${o.name}`),
  ];
  const o = report.options;
  const lines = [
    '# Tether vs ws vs Socket.IO',
    '',
    'Written by `npm run bench:compare` (bench/compare.mjs); do not edit by hand, run it again.',
    '',
    `- Date: ${report.startedAt} to ${report.finishedAt}`,
    `- Machine: ${describeMachine(report.machine)}`,
    `- Load average (1/5/15 min) at the start: ${report.machine.loadAverage.join(' / ')}; at the end: ${report.loadAfter.join(' / ')}. ${report.machine.cores} cores shared with the load clients (and with any other work at that moment): absolute numbers are this machine's, the ratios are the point.`,
    `- Versions: node ${report.machine.node}, ${report.targets.map((t) => `${t.name} ${t.version}`).join(', ')} (tether packages ${tetherVersion})`,
    '',
    '## Results',
    '',
    ...markdownTable(headers, comparisonRows(report)),
    '',
    'Ratios are Tether divided by the other server: above 1 is better for "higher is better" rows, below 1 for "lower is better" rows.',
    '',
  ];
  const failures = report.targets.flatMap((t) => t.failures.map((f) => `- ${t.name}: ${f}`));
  if (failures.length > 0) lines.push('## Failures during the run', '', ...failures, '');
  lines.push(
    '## Method',
    '',
    `- Each server runs in a child process of its own (started fresh for every scenario), with \`--expose-gc\`; the load clients run in the parent process. Scenarios run interleaved: idle for each server, then fan-out for each, then echo for each.`,
    `- Same payloads for all: \`{ n, ts, pad }\` with a ${o.payloadBytes}-byte pad, JSON text frames, no compression. Same client counts, four loopback source addresses (127.0.0.1-4).`,
    `- Fan-out: ${o.subscribers} subscribers; the server publishes bursts of ${o.batch} messages in one tick (Tether: \`tether.publish(topic)\`; ws: \`JSON.stringify\` once, then \`client.send\` to each client; Socket.IO: \`io.to(room).emit\`); the next burst starts once every subscriber has the previous one (closed loop: throughput without unbounded queues). ${o.warmupMs} ms warm-up, then ${o.durationMs} ms measured: messages delivered to the clients per second, and per second of the server process's CPU time (\`process.cpuUsage()\`: user + system).`,
    "- Where fan-out differs: Tether's server coalesces each subscriber's pending frames into one WebSocket message per event-loop tick (a JSON array of `pub` frames, encoded once per publication and shared by all subscribers), so a burst costs one socket write per subscriber; raw ws and Socket.IO send one WebSocket frame per message per client, as their APIs do. With one publication per tick there would be nothing to coalesce; this run does not measure that case.",
    `- Echo: ${o.echoClients} clients, each ${o.echoRate} request/reply round trips per second (each waits for its reply) through the application's handler (Tether: \`endpoint.handle('echo')\`; ws: a message listener that sends the reply; Socket.IO: an event with an acknowledgement callback). Round trips after a ${o.warmupMs} ms warm-up go into an HDR histogram; ${o.durationMs} ms measured.`,
    `- Idle: ${o.idleConnections} connections opened (Tether: each completes hello/welcome; Socket.IO: each completes its connect handshake) and held 1 s; server RSS and heap after a full GC, minus the same before, divided by the connections.`,
    '- Socket.IO runs with the websocket transport only (no polling) on both sides; Tether and Socket.IO send heartbeats every 25 s (none fall inside a run), raw ws has none.',
    '',
  );
  return lines.join('\n');
}
