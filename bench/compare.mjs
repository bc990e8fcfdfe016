#!/usr/bin/env node
// `npm run bench:compare`: Tether vs raw ws (plain, pre-framed/corked/batched, and with a
// hand-rolled hello/welcome for the connect row) vs Socket.IO, same scenarios, one run,
// each server in its own child process, the load in worker processes; prints the table
// and writes bench/RESULTS.md.
//   node bench/compare.mjs [--quick] [--out PATH] [--connections N] [--subscribers N]
//     [--duration MS] [--warmup MS] [--repeat N] [--workers N] [--only SCENARIO,...]
//     [--servers NAME,...] [--pin auto|on|off]
// --only (idle, heartbeat, fanout1, fanout, echo) and --servers (tether, ws, ws-batched,
// ws-hello, socket.io) run a part, for profiling one figure: the report then lacks the
// rest, so give it an --out of its own. --pin (default auto: where the machine allows)
// runs the server on a core of its own and the load workers on the others in the
// scenarios that measure server CPU (heartbeat, fan-out, echo); idle is never pinned.
// The logic lives in packages/cli/src/bench/compare.ts (built by `npm run build`).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { corePlan, PIN_MODES } from '../packages/cli/dist/bench/affinity.js';
import { COMPARE_DEFAULTS, runComparison } from '../packages/cli/dist/bench/compare.js';
import {
  comparisonHeaders,
  comparisonRows,
  renderComparisonMarkdown,
} from '../packages/cli/dist/bench/compare-report.js';
import { describeMachine } from '../packages/cli/dist/bench/machine.js';
import { Progress } from '../packages/cli/dist/bench/progress.js';
import { formatTable } from '../packages/cli/dist/bench/table.js';

const here = (path) => fileURLToPath(new URL(path, import.meta.url));
const version = (pkg) => JSON.parse(readFileSync(here(pkg), 'utf8')).version;

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    out: { type: 'string', default: here('./RESULTS.md') },
    connections: { type: 'string' },
    subscribers: { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    repeat: { type: 'string' },
    workers: { type: 'string' },
    only: { type: 'string' },
    servers: { type: 'string' },
    pin: { type: 'string' },
  },
});

/** A whole number flag within [min, max], or a usage error that names it. */
function count(name, min, max) {
  const raw = values[name];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    console.error(`--${name} must be a whole number from ${min} to ${max} (got "${raw}")`);
    process.exit(2);
  }
  return n;
}

// --quick: a smoke run (small counts, short windows); never for RESULTS.md.
const options = values.quick
  ? {
      ...COMPARE_DEFAULTS,
      connections: 200,
      subscribers: 20,
      batch: 5,
      echoClients: 4,
      echoRate: 20,
      warmupMs: 100,
      durationMs: 300,
      workers: 1,
    }
  : { ...COMPARE_DEFAULTS };
/** A comma-separated subset of `allowed`, or a usage error that names the flag. */
function subset(name, allowed) {
  const raw = values[name];
  if (raw === undefined) return undefined;
  const picked = raw
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s !== '');
  const bad = picked.filter((s) => !allowed.includes(s));
  if (picked.length === 0 || bad.length > 0) {
    console.error(`--${name} takes a comma-separated list of ${allowed.join(', ')} (got "${raw}")`);
    process.exit(2);
  }
  return picked;
}
const only = subset('only', ['idle', 'heartbeat', 'fanout1', 'fanout', 'echo']);
if (only !== undefined) options.only = only;
if (values.pin !== undefined) {
  if (!PIN_MODES.includes(values.pin)) {
    console.error(`--pin takes one of ${PIN_MODES.join(', ')} (got "${values.pin}")`);
    process.exit(2);
  }
  options.pin = values.pin;
}
try {
  corePlan(options.pin);
} catch (err) {
  console.error(err.message);
  process.exit(2);
}
const sized = {
  connections: count('connections', 1, 100_000),
  subscribers: count('subscribers', 1, 100_000),
  durationMs: count('duration', 100, 600_000),
  warmupMs: count('warmup', 0, 600_000),
  repeat: count('repeat', 1, 10),
  workers: count('workers', 0, 16),
};
for (const [key, value] of Object.entries(sized)) if (value !== undefined) options[key] = value;

/**
 * The marked sections of the file being replaced (`<!-- NAME:begin -->` ...
 * `<!-- NAME:end -->`, e.g. an earlier table or another scenario's results), carried
 * over below the new report so a rerun does not erase them.
 */
function kept(path) {
  if (!existsSync(path)) return '';
  const text = readFileSync(path, 'utf8');
  const sections = text.match(/<!-- ([\w-]+):begin -->[\s\S]*?<!-- \1:end -->/g) ?? [];
  return sections.map((section) => `\n${section}\n`).join('');
}

const adapters = new URL('./adapters.mjs', import.meta.url).href;
const wsVersion = version('../node_modules/ws/package.json');
const targets = [
  {
    name: 'Tether',
    version: version('../packages/server/package.json'),
    entry: here('../packages/cli/dist/bench/hub-child.js'),
    adapter: 'tether',
  },
  {
    name: 'ws',
    version: wsVersion,
    entry: here('./servers/ws-server.mjs'),
    adapter: { module: adapters, name: 'wsAdapter' },
  },
  {
    name: 'ws (batched)',
    version: wsVersion,
    entry: here('./servers/ws-batched-server.mjs'),
    adapter: { module: adapters, name: 'wsAdapter' },
  },
  {
    // A connect as an application hand-rolls one on ws (hello, welcome with a session id
    // and token): only the idle scenario's figures.
    name: 'ws (hello)',
    version: wsVersion,
    entry: here('./servers/ws-hello-server.mjs'),
    adapter: { module: adapters, name: 'wsHelloAdapter' },
    scenarios: ['idle'],
  },
  {
    name: 'Socket.IO',
    version: version('../node_modules/socket.io/package.json'),
    entry: here('./servers/socketio-server.mjs'),
    adapter: { module: adapters, name: 'socketioAdapter' },
  },
];

const serverKey = (name) => name.toLowerCase().replace(/ \((\w+)\)/, '-$1');
const servers = subset(
  'servers',
  targets.map((t) => serverKey(t.name)),
);
const report = await runComparison(
  servers === undefined ? targets : targets.filter((t) => servers.includes(serverKey(t.name))),
  options,
  Progress.forStderr(),
);
console.log(`bench:compare on ${describeMachine(report.machine)}`);
console.log('');
for (const line of formatTable(comparisonHeaders(report), comparisonRows(report)))
  console.log(line);
for (const t of report.targets) for (const f of t.failures) console.log(`FAIL ${t.name}: ${f}`);
writeFileSync(
  values.out,
  renderComparisonMarkdown(report, version('../package.json')) + kept(values.out),
);
console.log(`\nwrote ${values.out}`);
process.exitCode = report.targets.some((t) => t.failures.length > 0) ? 1 : 0;
