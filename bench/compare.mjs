#!/usr/bin/env node
// `npm run bench:compare`: Tether vs raw ws vs Socket.IO, same scenarios, one run, each
// server in its own child process; prints the table and writes bench/RESULTS.md.
//   node bench/compare.mjs [--quick] [--out PATH] [--duration MS]
// The logic lives in packages/cli/src/bench/compare.ts (built by `npm run build`).
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  COMPARE_DEFAULTS,
  comparisonRows,
  renderComparisonMarkdown,
  runComparison,
} from '../packages/cli/dist/bench/compare.js';
import { describeMachine } from '../packages/cli/dist/bench/machine.js';
import { Progress } from '../packages/cli/dist/bench/progress.js';
import { formatTable } from '../packages/cli/dist/bench/table.js';

const here = (path) => fileURLToPath(new URL(path, import.meta.url));
const version = (pkg) => JSON.parse(readFileSync(here(pkg), 'utf8')).version;

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    out: { type: 'string', default: here('./RESULTS.md') },
    duration: { type: 'string' },
  },
});

// --quick: a smoke run for tests (small counts, short windows); never for RESULTS.md.
const options = values.quick
  ? {
      ...COMPARE_DEFAULTS,
      idleConnections: 40,
      subscribers: 20,
      batch: 5,
      echoClients: 4,
      echoRate: 20,
      warmupMs: 100,
      durationMs: 300,
    }
  : { ...COMPARE_DEFAULTS };
if (values.duration !== undefined) options.durationMs = Number(values.duration);

const adapters = new URL('./adapters.mjs', import.meta.url).href;
const targets = [
  {
    name: 'Tether',
    version: version('../packages/server/package.json'),
    entry: here('../packages/cli/dist/bench/hub-child.js'),
    adapter: 'tether',
  },
  {
    name: 'ws',
    version: version('../node_modules/ws/package.json'),
    entry: here('./servers/ws-server.mjs'),
    adapter: { module: adapters, name: 'wsAdapter' },
  },
  {
    name: 'Socket.IO',
    version: version('../node_modules/socket.io/package.json'),
    entry: here('./servers/socketio-server.mjs'),
    adapter: { module: adapters, name: 'socketioAdapter' },
  },
];

const report = await runComparison(targets, options, Progress.forStderr());
const [first, ...others] = report.targets;
console.log(`bench:compare on ${describeMachine(report.machine)}`);
console.log('');
for (const line of formatTable(
  ['metric', ...report.targets.map((t) => t.name), ...others.map((o) => `${first.name}/${o.name}`)],
  comparisonRows(report),
)) {
  console.log(line);
}
for (const t of report.targets) for (const f of t.failures) console.log(`FAIL ${t.name}: ${f}`);
writeFileSync(values.out, renderComparisonMarkdown(report, version('../package.json')));
console.log(`\nwrote ${values.out}`);
process.exitCode = report.targets.some((t) => t.failures.length > 0) ? 1 : 0;
