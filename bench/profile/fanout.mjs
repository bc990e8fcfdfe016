#!/usr/bin/env node
// Fan-out profiling harness behind bench/PROFILE.md "Fan-out" (not a benchmark:
// bench:compare is). The bench:compare fan-out loop in one process: SUBSCRIBERS clients
// subscribe, then bursts of BATCH publications (~100-byte payloads) are published, the
// next one once every subscriber has the previous one, for WINDOW_MS.
//   node bench/profile/fanout.mjs tether|ws SUBSCRIBERS BATCH WINDOW_MS
// env: PROF=name (CPU profile of the window, PINT=sampling µs), PROFILE_OUT=dir, PAD=payload
// padding bytes (64, as bench:compare), CHILD_FLAGS=node flags for the server child.
// Prints delivered per server CPU-second; then: node bench/profile/top.mjs FILE.cpuprofile
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { tetherLoadAdapter } from '../../packages/cli/dist/bench/tether-load.js';
import { wsAdapter } from '../adapters.mjs';

const [kind = 'tether', count = '1000', batch = '20', windowMs = '5000'] = process.argv.slice(2);
const child = fork(fileURLToPath(new URL('./server.mjs', import.meta.url)), [kind], {
  execArgv: ['--expose-gc', ...(process.env.CHILD_FLAGS ?? '').split(' ').filter(Boolean)],
  // No heartbeat during the window: only fan-out is measured.
  env: { ...process.env, HB: process.env.HB ?? '600000' },
});
const next = async () => (await once(child, 'message'))[0];
const ask = async (command) => {
  child.send(command);
  return next();
};
const { url } = await next();
const adapter = kind === 'tether' ? tetherLoadAdapter : wsAdapter;
let delivered = 0;
let drops = 0;
let waiter;
const hooks = {
  delivered(n) {
    delivered += n;
    if (waiter !== undefined && delivered >= waiter.target) {
      const { resolve } = waiter;
      waiter = undefined;
      resolve();
    }
  },
  closed: () => (drops += 1),
};
const n = Number(count);
const topic = 'bench:fanout';
const conns = [];
for (let i = 0; i < n; i += 200) {
  const round = [];
  for (let j = i; j < Math.min(n, i + 200); j += 1) {
    const c = adapter.connect(url, `127.0.0.${1 + (j % 8)}`, hooks);
    conns.push(c);
    round.push(c.ready.then(() => c.subscribe(topic)));
  }
  await Promise.all(round);
}
let published = 0;
/** One burst, closed loop: resolves once every subscriber has it (or after 10 s). */
const burst = async () => {
  const target = delivered + n * Number(batch);
  const got = new Promise((resolve) => {
    waiter = { target, resolve };
  });
  await ask({
    publish: {
      topic,
      count: Number(batch),
      payloadBytes: Number(process.env.PAD ?? 64),
      first: published + 1,
    },
  });
  published += Number(batch);
  const timer = setTimeout(() => waiter?.resolve(), 10_000);
  await got;
  clearTimeout(timer);
};
const runFor = async (ms) => {
  const end = performance.now() + ms;
  while (performance.now() < end) await burst();
};
await runFor(1_000);
const before = delivered;
await ask('start');
await runFor(Number(windowMs));
const { cpu, cpuMs, userMs, systemMs } = await ask('stop');
const got = delivered - before;
const cpuSec = cpuMs / 1000;
console.log(
  kind,
  `subscribers ${n} batch ${batch}: delivered ${got}, server CPU % ${cpu.toFixed(1)},`,
  `delivered per server CPU-second ${Math.round(got / cpuSec)}, drops ${drops};`,
  `per 1,000 delivered: user ${((userMs * 1000) / got).toFixed(2)} ms, system ${((systemMs * 1000) / got).toFixed(2)} ms`,
);
for (const c of conns) c.close();
child.send('exit');
await once(child, 'exit');
process.exit(0);
