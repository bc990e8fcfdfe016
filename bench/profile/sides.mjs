#!/usr/bin/env node
// Both sides of a connect: the server child's CPU and the load clients' CPU per connect,
// for Tether, raw ws and ws (hello), alternating, as bench:compare's idle open runs them
// (three worker processes, 200 connects in flight each, 8 loopback source addresses, no
// core pinning):
//   node bench/profile/sides.mjs [ROUNDS (2)] [CONNECTS (10000)]
// With PIN=1 the load runs in this process alone and the server child on core 1: start it
// as `PIN=1 taskset -c 0 node bench/profile/sides.mjs`, 1,000 connects first to warm the
// client code, 100 in flight. Sockets left in TIME_WAIT are cleared before each open (`ss -K`).
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const [roundsArg = '2', connectsArg = '10000'] = process.argv.slice(2);
const rounds = Number(roundsArg);
const connects = Number(connectsArg);
const pinned = process.env.PIN === '1';
const root = fileURLToPath(new URL('../..', import.meta.url));
const dist = (path) => import(`${root}/packages/cli/dist/bench/${path}`);
const { startChildHub } = await dist('hub.js');
const { LocalPool } = await dist('pool.js');
const { WorkerPool } = await dist('worker-pool.js');
const { cpuSpentMs } = await dist('usage.js');

const adapters = `file://${root}/bench/adapters.mjs`;
const targets = [
  { name: 'Tether', entry: `${root}/packages/cli/dist/bench/hub-child.js`, adapter: 'tether' },
  {
    name: 'ws',
    entry: `${root}/bench/servers/ws-server.mjs`,
    adapter: { module: adapters, name: 'wsAdapter' },
  },
  {
    name: 'ws (hello)',
    entry: `${root}/bench/servers/ws-hello-server.mjs`,
    adapter: { module: adapters, name: 'wsHelloAdapter' },
  },
];
const addresses = Array.from({ length: 8 }, (_, i) => `127.0.0.${i + 1}`);
const concurrency = pinned ? 100 : 200;
const perConnect = (ms, count) => Math.round((ms * 1000) / count);

for (let round = 1; round <= rounds; round += 1) {
  for (const target of targets) {
    try {
      execFileSync('ss', ['-K', 'state', 'time-wait'], { stdio: 'ignore' });
    } catch {
      // Without ss -K (no privilege): sockets in TIME_WAIT stay, and slow the port search.
    }
    const pool = pinned ? new LocalPool() : await WorkerPool.start(3);
    const hub = await startChildHub(
      { host: '127.0.0.1', port: 0, instrument: false },
      target.entry,
      pinned ? '1' : undefined,
    );
    try {
      const open = (count) =>
        pool.open({
          url: hub.url,
          count,
          addresses,
          concurrency,
          adapter: target.adapter,
          timeoutMs: 120_000,
        });
      if (pinned) {
        await open(1_000);
        await pool.closeAll();
      }
      await hub.gc();
      const server0 = await hub.usage();
      const clients0 = await pool.usage();
      const opened = await open(connects);
      const server1 = await hub.usage();
      const clients1 = await pool.usage();
      const server = perConnect(server1.cpuMs - server0.cpuMs, opened.opened);
      const clients = perConnect(cpuSpentMs(clients0, clients1), opened.opened);
      const rate = Math.round((opened.opened / opened.elapsedMs) * 1000);
      console.log(
        `round ${round} ${target.name.padEnd(10)} opened ${opened.opened}, ${rate}/s; per connect: server ${server} µs, load clients ${clients} µs, sum ${server + clients} µs`,
      );
    } finally {
      await pool.closeAll();
      await hub.close();
      if (!pinned) await pool.stop();
    }
  }
}
process.exit(0);
