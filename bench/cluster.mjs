#!/usr/bin/env node
// `npm run bench:cluster`: fan-out throughput and publish-to-deliver latency of a Redis
// cluster of `tether serve` hubs, 3 nodes against 1, and `--workers 2` against 1 worker
// (when this tree's `tether serve` has --workers), in one run. Prints the table and writes
// it into bench/RESULTS.md between `<!-- cluster:begin -->` and `<!-- cluster:end -->`
// (bench/compare.mjs writes the rest of that file).
//   node bench/cluster.mjs [--quick] [--out PATH] [--json] [--subscribers N] [--duration MS]
import { readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { describeMachine, machineInfo } from '../packages/cli/dist/bench/machine.js';
import { formatTable } from '../packages/cli/dist/bench/table.js';
import { measure } from './cluster-load.mjs';
import { redisVersion, serveHasWorkers, startHub, startRedis } from './cluster-procs.mjs';

const BEGIN = '<!-- cluster:begin -->';
const END = '<!-- cluster:end -->';
const API_KEY = 'bench-cluster-api-key-0123456789abcdef';

const here = (path) => fileURLToPath(new URL(path, import.meta.url));
const version = (pkg) => JSON.parse(readFileSync(here(pkg), 'utf8')).version;

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    out: { type: 'string', default: here('./RESULTS.md') },
    subscribers: { type: 'string' },
    duration: { type: 'string' },
    rounds: { type: 'string' },
  },
});

// --quick: a smoke run for tests (a few subscribers, short windows); never for RESULTS.md.
const options = values.quick
  ? {
      subscribers: 12,
      burst: 6,
      warmupMs: 200,
      durationMs: 500,
      rate: 20,
      latencyMs: 500,
      rounds: 1,
    }
  : {
      subscribers: 600,
      burst: 12,
      warmupMs: 1_000,
      durationMs: 5_000,
      rate: 20,
      latencyMs: 5_000,
      rounds: 3,
    };
if (values.subscribers !== undefined) options.subscribers = Number(values.subscribers);
if (values.duration !== undefined) options.durationMs = Number(values.duration);
if (values.rounds !== undefined) options.rounds = Number(values.rounds);
for (const [name, value] of Object.entries(options)) {
  if (!Number.isInteger(value) || value <= 0) {
    throw new Error(`bench:cluster: --${name} must be a positive integer, got ${value}`);
  }
}

const log = (line) => {
  if (!values.json) process.stderr.write(`${line}\n`);
};

/** Starts Redis and the hubs of one setup, measures, stops them all. */
async function setup(name, hubCount, workers) {
  log(`bench:cluster: ${name}...`);
  const redis = await startRedis();
  const hubs = [];
  try {
    for (let i = 0; i < hubCount; i++) {
      hubs.push(await startHub({ redisUrl: redis.url, apiKey: API_KEY, workers }));
    }
    const result = await measure(hubs, redis.pid, {
      ...options,
      apiKey: API_KEY,
      topic: 'demo:bench',
    });
    return {
      name,
      processes: hubCount,
      workers: workers ?? 1,
      ...result,
      failures: failures(result),
    };
  } catch (err) {
    return { name, failures: [err instanceof Error ? err.message : String(err)] };
  } finally {
    await Promise.all(hubs.map((h) => h.stop()));
    await redis.stop();
  }
}

function failures(r) {
  const out = [];
  for (const key of ['lost', 'duplicates', 'skipped', 'gaps']) {
    if (r[key] !== 0) out.push(`${r[key]} ${key}`);
  }
  return out;
}

const machine = machineInfo();
const startedAt = new Date();
const withWorkers = serveHasWorkers();
// Where serve has --workers, its default with Redis is one worker per core: a node is
// then started with --workers 1, so that "1 node" is one process.
const perNode = withWorkers ? 1 : undefined;
const SETUPS = [
  ['oneNode', '1 node', 1, perNode],
  ['threeNodes', '3 nodes', 3, perNode],
  ...(withWorkers
    ? [
        ['oneWorker', '--workers 1', 1, 1],
        ['twoWorkers', '--workers 2', 1, 2],
      ]
    : []),
];
// Rounds interleave the setups (1 node, 3 nodes, ..., then again), so a drift in the
// machine's load spreads over all of them; each cell is the median over the rounds.
const rounds = Object.fromEntries(SETUPS.map(([key]) => [key, []]));
for (let round = 1; round <= options.rounds; round++) {
  for (const [key, name, hubs, workers] of SETUPS) {
    rounds[key].push(await setup(`${name} (round ${round} of ${options.rounds})`, hubs, workers));
  }
}
const results = {
  oneNode: undefined,
  threeNodes: undefined,
  oneWorker: undefined,
  twoWorkers: undefined,
};
for (const [key, name] of SETUPS) results[key] = combine(name, rounds[key]);

function median(values) {
  const sorted = values.filter(Number.isFinite).sort((x, y) => x - y);
  if (sorted.length === 0) return Number.NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** One setup over its rounds: medians of the rates and latencies, sums of the counts. */
function combine(name, runs) {
  const failures = runs.flatMap((r) => r.failures.map((f) => `${r.name}: ${f}`));
  const done = runs.filter((r) => r.latency !== undefined);
  if (done.length < runs.length) return { name, failures, rounds: runs };
  const med = (pick) => median(done.map(pick));
  const sum = (pick) => done.reduce((total, r) => total + pick(r), 0);
  return {
    name,
    processes: done[0].processes,
    workers: done[0].workers,
    subscribers: done[0].subscribers,
    publications: sum((r) => r.publications),
    latencyPublications: sum((r) => r.latencyPublications),
    deliveredPerSecond: med((r) => r.deliveredPerSecond),
    deliveredPerHubCpuSecond: med((r) => r.deliveredPerHubCpuSecond),
    hubCpuPercent: med((r) => r.hubCpuPercent),
    redisCpuPercent: med((r) => r.redisCpuPercent),
    loadCpuPercent: med((r) => r.loadCpuPercent),
    latency: {
      count: sum((r) => r.latency.count),
      p50Ms: med((r) => r.latency.p50Ms),
      p99Ms: med((r) => r.latency.p99Ms),
      maxMs: Math.max(...done.map((r) => r.latency.maxMs)),
    },
    lost: sum((r) => r.lost),
    duplicates: sum((r) => r.duplicates),
    skipped: sum((r) => r.skipped),
    gaps: sum((r) => r.gaps),
    reconnects: sum((r) => r.reconnects),
    failures,
    rounds: runs,
  };
}
const endedAt = new Date();
const loadEnd = loadavg().map((n) => Math.round(n * 100) / 100);

const int = (n) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a');
const pct = (n) => (Number.isFinite(n) ? `${Math.round(n)}%` : 'n/a');
const ms = (n) => (Number.isFinite(n) ? `${Math.round(n * 100) / 100} ms` : 'n/a');
const ratio = (a, b) =>
  Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? `${Math.round((a / b) * 100) / 100}×` : '';
const NOT_MEASURED = 'not measured';

/** Metric rows: label, how to read it, and the value of a result. */
const ROWS = [
  ['hub processes (workers included)', null, (r) => String(r.processes * r.workers)],
  ['subscribers (spread over the hubs)', null, (r) => int(r.subscribers)],
  ['fan-out: delivered messages/s (higher is better)', int, (r) => r.deliveredPerSecond],
  [
    'fan-out: delivered per hub CPU-second, all hubs summed (higher is better)',
    int,
    (r) => r.deliveredPerHubCpuSecond,
  ],
  ['fan-out: hub CPU, all hubs summed (% of one core)', pct, (r) => r.hubCpuPercent],
  ['fan-out: Redis CPU (% of one core)', pct, (r) => r.redisCpuPercent],
  ['fan-out: load clients CPU (% of one core)', pct, (r) => r.loadCpuPercent],
  ['publish-to-deliver latency p50 (lower is better)', ms, (r) => r.latency.p50Ms],
  ['publish-to-deliver latency p99 (lower is better)', ms, (r) => r.latency.p99Ms],
  ['publish-to-deliver latency max, over all rounds', ms, (r) => r.latency.maxMs],
  [
    'lost / duplicated / skipped / gap signals',
    null,
    (r) => `${r.lost} / ${r.duplicates} / ${r.skipped} / ${r.gaps}`,
  ],
  ['subscriber reconnections', null, (r) => int(r.reconnects)],
];

const COLUMNS = [
  ['1 node', 'oneNode'],
  ['3 nodes', 'threeNodes'],
  ['3 nodes / 1 node', ['threeNodes', 'oneNode']],
  ['--workers 1', 'oneWorker'],
  ['--workers 2', 'twoWorkers'],
  ['2 workers / 1 worker', ['twoWorkers', 'oneWorker']],
];

function cell(row, column) {
  const [, format, value] = row;
  const ok = (r) => r !== undefined && r.failures.length === 0 && r.latency !== undefined;
  if (Array.isArray(column)) {
    const [a, b] = column.map((key) => results[key]);
    return format !== null && ok(a) && ok(b) ? ratio(value(a), value(b)) : '';
  }
  const r = results[column];
  if (r === undefined) return NOT_MEASURED;
  if (r.latency === undefined) return 'FAIL';
  return format === null ? value(r) : format(value(r));
}

const header = ['metric', ...COLUMNS.map(([label]) => label)];
const rows = ROWS.map((row) => [row[0], ...COLUMNS.map(([, column]) => cell(row, column))]);
const failed = Object.values(results).filter((r) => r !== undefined && r.failures.length > 0);

function markdown() {
  const lines = [
    BEGIN,
    '## Cluster: 3 nodes against 1, `--workers 2` against 1 worker',
    '',
    'Written by `npm run bench:cluster` (bench/cluster.mjs); do not edit by hand, run it again.',
    '',
    `- Date: ${startedAt.toISOString()} to ${endedAt.toISOString()}`,
    `- Machine: ${describeMachine(machine)}`,
    `- Load average (1/5/15 min) at the start: ${machine.loadAverage.join(' / ')}; at the end: ${loadEnd.join(' / ')}. ${machine.cores} cores shared by the hubs, Redis, the load clients and any other work at that moment: on a small machine more hub processes compete for the same cores, so read "delivered per hub CPU-second" and the load average before the absolute rates.`,
    `- Versions: node ${process.version}, Tether ${version('../packages/server/package.json')}, redis-server ${redisVersion() ?? 'unknown'}`,
    '',
    `| ${header.join(' | ')} |`,
    `|---|${COLUMNS.map(() => '---:').join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
    '',
  ];
  if (!withWorkers) {
    lines.push(
      '`--workers`: not measured: `tether serve` in this tree has no `--workers` flag; the script measures those columns once it does.',
      '',
    );
  }
  for (const r of failed) lines.push(`FAIL ${r.name}: ${r.failures.join('; ')}`, '');
  lines.push(
    '### Method',
    '',
    `- Each setup starts a fresh redis-server (no persistence: \`--save '' --appendonly no\`) and its hubs as \`tether serve --insecure --store redis://…\` child processes (built CLI), per-IP cap lifted; \`--workers N\` is one \`tether serve\` with N workers on one port; where serve has the flag (its default with Redis: one worker per core), each node runs with \`--workers 1\`. Setups run one after the other.`,
    `- ${int(options.subscribers)} subscribers (real \`TetherClient\`s in the bench process, one topic), spread round-robin over the hubs; every publication enters through \`/api/publish\` of the hubs in turn, so with 3 nodes two thirds of them reach a subscriber's hub through Redis.`,
    `- Fan-out throughput: bursts of ${options.burst} publications (\`{ n, ts, pad }\`, 64-byte pad), the next burst once every subscriber has the previous one (closed loop); ${options.warmupMs} ms warm-up, then ${options.durationMs} ms measured. Hub CPU: user + system time of every hub process and its children (\`/proc/<pid>/stat\`), summed; Redis' likewise.`,
    `- Publish-to-deliver latency: ${options.rate} publications/s for ${options.latencyMs} ms (open loop), through the hubs in turn; each carries \`performance.now()\` taken just before its \`/api/publish\` call, and each subscriber records the time to its \`pub\` event (HTTP + Redis script + Redis pub/sub + fan-out + client parse), in an HDR histogram.`,
    `- ${options.rounds} round(s): the setups run interleaved (1 node, 3 nodes${withWorkers ? ', --workers 1, --workers 2' : ''}, then again), each with fresh processes; every cell is the median over the rounds (max: the largest), the counts are sums.`,
    '- Every subscriber audits its offsets: a setup with a lost, duplicated or skipped publication or a gap signal is marked FAIL.',
    END,
  );
  return lines.join('\n');
}

const section = markdown();
let current = '';
try {
  current = readFileSync(values.out, 'utf8');
} catch {
  // A new file holds only this section.
}
const begin = current.indexOf(BEGIN);
const end = current.indexOf(END);
const next =
  begin >= 0 && end > begin
    ? `${current.slice(0, begin)}${section}${current.slice(end + END.length)}`
    : `${current}${current === '' || current.endsWith('\n\n') ? '' : current.endsWith('\n') ? '\n' : '\n\n'}${section}\n`;
writeFileSync(values.out, next);

if (values.json) {
  console.log(JSON.stringify({ machine, withWorkers, options, results }, null, 2));
} else {
  console.log(`bench:cluster on ${describeMachine(machine)}`);
  console.log('');
  for (const line of formatTable(header, rows)) console.log(line);
  for (const r of failed) console.log(`FAIL ${r.name}: ${r.failures.join('; ')}`);
  console.log(`\nwrote ${values.out}`);
}
process.exitCode = failed.length > 0 ? 1 : 0;
