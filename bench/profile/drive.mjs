#!/usr/bin/env node
// Profiling harness behind bench/PROFILE.md (not a benchmark: bench:compare is).
//   node bench/profile/drive.mjs tether|ws CONNECTIONS WINDOW_MS
// env: HB=interval ms (1000), ECHO=N clients × 10 req/s during the window, PROF=name
// (CPU profile of the window, PINT=sampling µs), SNAP=1 (heap snapshot), PROFILE_OUT=dir,
// EWARM=ms of echo before the window (1000), EPERIOD=ms between one client's echoes (100;
// 0: closed loop, as fast as the server answers), CHILD_FLAGS=node flags for the server
// child (e.g. --perf-basic-prof for perf's JIT names).
// Then: node bench/profile/top.mjs FILE.cpuprofile, node bench/profile/heap.mjs FILE N.
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { tetherLoadAdapter } from '../../packages/cli/dist/bench/tether-load.js';
import { wsAdapter } from '../adapters.mjs';

const [kind = 'tether', count = '2000', windowMs = '5000'] = process.argv.slice(2);
const child = fork(fileURLToPath(new URL('./server.mjs', import.meta.url)), [kind], {
  execArgv: ['--expose-gc', ...(process.env.CHILD_FLAGS ?? '').split(' ').filter(Boolean)],
});
const next = async () => (await once(child, 'message'))[0];
const ask = async (command) => {
  child.send(command);
  return next();
};
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const { url } = await next();
const adapter = kind === 'tether' ? tetherLoadAdapter : wsAdapter;
let drops = 0;
const hooks = { delivered() {}, closed: () => (drops += 1) };
const n = Number(count);
const base = (await ask('mem')).mem;
const conns = [];
for (let i = 0; i < n; i += 200) {
  const batch = [];
  for (let j = i; j < Math.min(n, i + 200); j += 1) {
    const c = adapter.connect(url, `127.0.0.${1 + (j % 8)}`, hooks);
    conns.push(c);
    batch.push(c.ready);
  }
  await Promise.all(batch);
}
await sleep(2_500);
const held = (await ask('mem')).mem;
const kib = (bytes) => (bytes / n / 1024).toFixed(2);
console.log(
  kind,
  'per connection: rss KiB',
  kib(held.rss - base.rss),
  'heap KiB',
  kib(held.heapUsed - base.heapUsed),
);
if (process.env.SNAP) console.log(await ask('snap'));
let stop = false;
let done = 0;
const period = Number(process.env.EPERIOD ?? 100);
const echoes = conns.slice(0, Number(process.env.ECHO ?? 0)).map(async (c) => {
  while (!stop) {
    const at = Date.now();
    await c.echo('x'.repeat(64));
    done += 1;
    if (period > 0) await sleep(Math.max(0, period - (Date.now() - at)));
  }
});
if (echoes.length > 0) await sleep(Number(process.env.EWARM ?? 1_000));
await ask('start');
const doneBefore = done;
await sleep(Number(windowMs));
const { cpu, user, system, cpuMs, userMs } = await ask('stop');
// The echoes answered within the measured window (the CPU is the window's).
const inWindow = done - doneBefore;
console.log(
  kind,
  'server CPU %',
  cpu.toFixed(1),
  `(user ${user.toFixed(1)}, system ${system.toFixed(1)})`,
  'echoes in the window',
  inWindow,
  inWindow > 0
    ? `server µs per echo ${((cpuMs * 1000) / inWindow).toFixed(1)} (user ${((userMs * 1000) / inWindow).toFixed(1)})`
    : '',
  'drops',
  drops,
);
stop = true;
await Promise.allSettled(echoes);
for (const c of conns) c.close();
child.send('exit');
await once(child, 'exit');
process.exit(0);
