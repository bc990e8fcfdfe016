import { BENCH_DEFAULTS } from './args.js';
import type { CompareReport } from './compare.js';
import { BENCH_LISTEN_BACKLOG } from './listen.js';
import { describeMachine } from './machine.js';
import { formatValue, markdownTable } from './table.js';

/** Key prefixes of the compared scenarios (`fanout1`: one publication per turn). */
export type CompareKey = 'idle' | 'heartbeat' | 'fanout1' | 'fanout' | 'echo';

/** The compared figures: scenario, metric key, label, unit, and which way is better. */
export const COMPARED: ReadonlyArray<{
  scenario: CompareKey;
  key: string;
  label: string;
  unit: string;
  better: 'higher' | 'lower';
}> = [
  {
    scenario: 'heartbeat',
    key: 'serverCpuPercent',
    label: 'heartbeat: server CPU',
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
  {
    scenario: 'idle',
    key: 'connectRatePerSec',
    label: 'connect rate (handshake + hello/welcome)',
    unit: '/s',
    better: 'higher',
  },
  {
    scenario: 'idle',
    key: 'serverCpuPerConnectUs',
    label: 'connect: server CPU per connect',
    unit: 'µs',
    better: 'lower',
  },
  {
    scenario: 'idle',
    key: 'clientCpuPerConnectUs',
    label: 'connect: load clients CPU per connect',
    unit: 'µs',
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
    scenario: 'fanout1',
    key: 'deliveredPerCpuSec',
    label: 'fan-out, one per turn: delivered per server CPU-second',
    unit: '',
    better: 'higher',
  },
  {
    scenario: 'fanout1',
    key: 'deliveredPerSec',
    label: 'fan-out, one per turn: delivered messages/s',
    unit: '',
    better: 'higher',
  },
  {
    scenario: 'fanout',
    key: 'deliveredPerCpuSec',
    label: 'fan-out, bursts: delivered per server CPU-second',
    unit: '',
    better: 'higher',
  },
  {
    scenario: 'fanout',
    key: 'deliveredPerSec',
    label: 'fan-out, bursts: delivered messages/s',
    unit: '',
    better: 'higher',
  },
];

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

/** The table's column headers. */
export function comparisonHeaders(report: CompareReport): string[] {
  const [first, ...others] = report.targets;
  return [
    'metric',
    ...report.targets.map((t) => t.name),
    ...others.map((o) => `${first?.name ?? ''}/${o.name}`),
  ];
}

/** How the run placed the servers and the load (`--pin`). */
function pinning(report: CompareReport): string {
  const { pin } = report.options;
  const cores = report.cores;
  if (cores === undefined) {
    return `not pinned (\`--pin ${pin}\`): the servers and the load clients shared every core.`;
  }
  const pinned = report.placement.filter((s) => s.pinned).map((s) => s.name);
  const idle = report.placement.some((s) => s.key === 'idle' && !s.pinned)
    ? "; the idle scenario (memory, connect rate) ran unpinned, its connect rate the whole machine's"
    : '';
  if (pinned.length === 0) return `no scenario of this run is pinned (\`--pin ${pin}\`)${idle}.`;
  return `in the ${pinned.join(', ')} scenario${pinned.length > 1 ? 's' : ''} the server ran on core ${cores.server} alone and the load workers on ${cores.load} (\`taskset\`, \`--pin ${pin}\`)${idle}.`;
}

/** bench/RESULTS.md (the table of one run, and how it was measured). */
export function renderComparisonMarkdown(report: CompareReport, tetherVersion: string): string {
  const o = report.options;
  const lines = [
    '# Tether vs ws vs Socket.IO',
    '',
    'Written by `npm run bench:compare` (bench/compare.mjs); run it again rather than edit the table.',
    '',
    `- Date: ${report.startedAt} to ${report.finishedAt}`,
    `- Machine: ${describeMachine(report.machine)}`,
    `- Load average (1/5/15 min) at the start: ${report.machine.loadAverage.join(' / ')}; at the end: ${report.loadAfter.join(' / ')}. ${report.machine.cores} cores, shared with any other work at that moment: absolute numbers are this machine's, the ratios are the point.`,
    `- Cores: ${pinning(report)}`,
    `- Versions: node ${report.machine.node}, ${report.targets.map((t) => `${t.name} ${t.version}`).join(', ')} (tether packages ${tetherVersion})`,
    `- Sizes: ${o.connections} idle/heartbeat connections, ${o.subscribers} subscribers, bursts of ${o.batch}, ${o.echoClients} echo clients × ${o.echoRate}/s, ${o.durationMs} ms measured after ${o.warmupMs} ms warm-up, ${o.repeat} round(s) (medians), ${o.workers} load-generator processes over ${o.addresses} loopback addresses.`,
    '',
    '## Results',
    '',
    ...markdownTable(comparisonHeaders(report), comparisonRows(report)),
    '',
    'Ratios are Tether divided by the other server: above 1 is better for "higher is better" rows, below 1 for "lower is better" rows.',
    '',
  ];
  const failures = report.targets.flatMap((t) => t.failures.map((f) => `- ${t.name}: ${f}`));
  if (failures.length > 0) lines.push('## Failures during the run', '', ...failures, '');
  lines.push(
    '## Method',
    '',
    '- Each server runs in a child process of its own (started fresh for every scenario), with `--expose-gc` and nothing else running in it (the Tether child without the event-loop delay monitor and trace tick that `tether bench` adds); the load clients run in worker processes (`--workers`), each connection bound to one of the loopback source addresses in turn. Scenarios run interleaved: idle for each server, then heartbeat for each, and so on.',
    `- Same payloads for all: \`{ n, ts, pad }\` with a ${o.payloadBytes}-byte pad, JSON text frames, no compression.`,
    `- Heartbeat: ${o.connections} idle connections on a server that pings every connection every ${o.heartbeatIntervalMs} ms (Tether: \`heartbeatIntervalMs\`; ws: one \`setInterval\` that pings every client; Socket.IO: \`pingInterval\`), each cutting a connection silent for the interval + ${o.heartbeatTimeoutMs} ms (Tether: \`heartbeatTimeoutMs\`; ws: checked in its interval; Socket.IO: \`pingTimeout\`), so every server keeps the same connections (ws's README rule, cut one that did not answer the previous ping, dropped up to 46 % of them when the load clients answered late, and then pinged fewer); after two intervals, the server's CPU over ${o.durationMs} ms.`,
    `- Idle: ${o.connections} connections opened (Tether: each completes hello/welcome; ws (hello), a connect as an application hand-rolls one on ws and run in this scenario only: the client sends \`{"t":"hello"}\` once open and the server answers with a welcome carrying a random session id and token, keeping the token's SHA-256 until the socket closes; Socket.IO: its connect handshake) and held 1 s; server RSS and heap after a full GC, minus the same before, divided by the connections. Connect rate: connections opened per second of that open (at most ${BENCH_DEFAULTS.concurrency} attempts in flight per load process; every server listens with a backlog of ${BENCH_LISTEN_BACKLOG}; every run ends its load connections with a TCP reset, so none is left in TIME_WAIT holding a source port when the next run connects); the load clients share the machine's cores with the server in this scenario, so the rate is the whole machine's, "server CPU per connect" is the server child's CPU time over that open divided by the connections, and "load clients CPU per connect" the same for the load processes together (both sides of a connect use the two cores, so the rate follows their sum).`,
    `- Fan-out: ${o.subscribers} subscribers, closed loop (the next publication or burst starts once every subscriber has the previous one): "one per turn" publishes one message at a time, "bursts" ${o.batch} in one event-loop turn. Tether: \`tether.publish(topic)\`, its load clients asking for \`pubs\` frames as the Tether client does (a turn's burst as one frame, the envelope once); ws: \`JSON.stringify\` once, then \`client.send\` per client per message; ws (batched): a turn's messages as one JSON array, framed once with \`Sender.frame\` and written to every client's socket corked; Socket.IO: \`io.to(room).emit\`. Messages delivered per second, and per second of the server process's CPU time (\`process.cpuUsage()\`: user + system).`,
    `- Echo: ${o.echoClients} clients, each ${o.echoRate} request/reply round trips per second (each waits for its reply) through the application's handler (Tether: \`endpoint.handle('echo')\`; ws: a message listener that sends the reply; Socket.IO: an event with an acknowledgement callback), in an HDR histogram after the warm-up; the server's CPU over the measured window only (the warm-up is a run of its own: V8 compiles the hot paths in the first seconds, and a 1 s warm-up left half of Tether's echo CPU to the optimizing compiler).`,
    "- Socket.IO runs with the websocket transport only (no polling) on both sides. Outside the heartbeat scenario, Tether and Socket.IO send heartbeats every 25 s and raw ws has none; Socket.IO's first falls 25 s after a connect (after the run), Tether's at a random point of a connection's first interval, so some of the idle scenario's connections are pinged once before it ends.",
    '',
  );
  return lines.join('\n');
}
