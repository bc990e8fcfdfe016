#!/usr/bin/env node
// Connect-path harness behind bench/PROFILE.md "Idle memory and connect rate" (not a
// benchmark: bench:compare is). Opens TOTAL connections from this one process, at most
// CONCURRENCY in flight, to the bench server child (Tether: handshake, then hello until
// welcome; raw ws: the handshake alone), and prints the rate, the latency of the
// handshake and of the whole connect (p50/p99), and the server's CPU per connect.
//   node bench/profile/connect.mjs tether|ws|ws-front|ws-hello|net-floor TOTAL CONCURRENCY
// (ws-front: raw ws's WebSocket behind raw-front.mjs, no HTTP server; handshake alone.
// net-floor: the 101 by hand behind raw-front.mjs and no WebSocket object on the server,
// with WELCOME=1 a fixed welcome in the same write, the client done when it arrives.
// ws-hello: raw ws, the client sends a hello once open and waits for the welcome.
// FRONT=1 with tether: Tether's upgrade path behind raw-front.mjs.)
// env: EARLY=0 sends the hello as a frame after the upgrade instead of in it (early hello).
// env: OPENONLY=1 counts a Tether connect done at the 101 (the upgrade path alone).
// env: PROF=name (CPU profile of the opening, PINT=sampling µs), PROFILE_OUT=dir,
// CHILD_FLAGS=node flags for the server child (e.g. --perf-basic-prof for perf).
// PIN_CHILD=1 moves the server child to core 1 (run this process under `taskset -c 0`).
import { execFileSync, fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import {
  EARLY_SUBPROTOCOL,
  helloSubprotocol,
  PROTOCOL_VERSION,
  SUBPROTOCOL,
} from '../../packages/protocol/dist/index.js';

const [kind = 'tether', total = '3000', concurrency = '200'] = process.argv.slice(2);
const child = fork(fileURLToPath(new URL('./server.mjs', import.meta.url)), [kind], {
  execArgv: ['--expose-gc', ...(process.env.CHILD_FLAGS ?? '').split(' ').filter(Boolean)],
  // No heartbeat during the open: only connects are measured.
  env: { ...process.env, HB: '600000' },
});
const next = async () => (await once(child, 'message'))[0];
const ask = async (command) => {
  child.send(command);
  return next();
};
const { url } = await next();
if (process.env.PIN_CHILD) execFileSync('taskset', ['-a', '-p', '-c', '1', String(child.pid)]);
const n = Number(total);
const HELLO = { t: 'hello', v: PROTOCOL_VERSION, appPings: false };
const early = kind === 'tether' && process.env.EARLY !== '0';
// Whether a connect is done at the welcome rather than at the open (read once: the client
// CPU per connect is reported too).
const untilWelcome =
  (kind === 'tether' && !process.env.OPENONLY) || (kind === 'net-floor' && !!process.env.WELCOME);
const protocols =
  kind !== 'tether'
    ? []
    : early
      ? [SUBPROTOCOL, EARLY_SUBPROTOCOL, helloSubprotocol(HELLO)]
      : [SUBPROTOCOL];
const opens = [];
const readies = [];
const sockets = [];
let started = 0;

/** One connect: resolves once open (ws) or welcomed (Tether); 10 s safety net. */
const connectOne = (i) =>
  new Promise((resolve, reject) => {
    const t0 = performance.now();
    const ws = new WebSocket(url, protocols, {
      perMessageDeflate: false,
      localAddress: `127.0.0.${1 + (i % 8)}`,
    });
    sockets.push(ws);
    const timer = setTimeout(() => reject(new Error(`connect ${i} took over 10 s`)), 10_000);
    const done = () => {
      clearTimeout(timer);
      readies.push(performance.now() - t0);
      resolve();
    };
    ws.on('error', reject);
    ws.on('open', () => {
      opens.push(performance.now() - t0);
      if (kind === 'ws-hello') ws.send('{"t":"hello"}');
      else if (!untilWelcome) done();
      else if (kind === 'tether' && ws.protocol !== EARLY_SUBPROTOCOL)
        ws.send(JSON.stringify(HELLO));
    });
    ws.on('message', (data) => {
      if (String(data).includes('"t":"welcome"')) done();
    });
  });

const worker = async () => {
  while (started < n) {
    const i = started;
    started += 1;
    await connectOne(i);
  }
};
await ask('start');
const t0 = performance.now();
const clientCpu0 = process.cpuUsage();
await Promise.all(Array.from({ length: Number(concurrency) }, worker));
const elapsed = performance.now() - t0;
const clientCpu = process.cpuUsage(clientCpu0);
const usage = await ask('stop');
const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * p)].toFixed(1);
console.log(
  `${kind}${early ? ' (early hello)' : ''} connections ${n} in flight ${concurrency}: ${Math.round((n / elapsed) * 1000)}/s; ` +
    `handshake p50 ${pct(opens, 0.5)} p99 ${pct(opens, 0.99)} ms; ` +
    `connect p50 ${pct(readies, 0.5)} p99 ${pct(readies, 0.99)} ms; ` +
    `server CPU ${usage.cpu.toFixed(1)} %, per connect ${(usage.cpuMs / n).toFixed(3)} ms ` +
    `(user ${(usage.userMs / n).toFixed(3)}, system ${(usage.systemMs / n).toFixed(3)}); ` +
    `client per connect ${((clientCpu.user + clientCpu.system) / 1000 / n).toFixed(3)} ms`,
);
// A reset leaves no TIME_WAIT behind on the client addresses (the next run binds them again).
for (const ws of sockets) ws._socket?.resetAndDestroy();
child.send('exit');
