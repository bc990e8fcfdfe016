#!/usr/bin/env node
// bench:compare's idle scenario alone, Tether then raw ws, each server in its own child
// and the clients in worker processes, as bench:compare runs it (packages/cli/dist):
//   node bench/profile/idle.mjs [CONNECTIONS (10000)] [ROOT (this checkout)]
// ROOT may name another checkout (built) to compare before and after on one machine.
import { fileURLToPath } from 'node:url';

const [n = '10000', rootArg] = process.argv.slice(2);
const root = rootArg ?? fileURLToPath(new URL('../..', import.meta.url));
const dist = (path) => import(`${root}/packages/cli/dist/bench/${path}`);
const { COMPARE_DEFAULTS } = await dist('compare.js');
const { parseBenchArgs } = await dist('args.js');
const { startChildHub } = await dist('hub.js');
const { idleScenario } = await dist('scenarios/idle.js');
const { WorkerPool } = await dist('worker-pool.js');
const { Progress } = await dist('progress.js');

const targets = [
  { name: 'Tether', entry: `${root}/packages/cli/dist/bench/hub-child.js`, adapter: 'tether' },
  {
    name: 'ws',
    entry: `${root}/bench/servers/ws-server.mjs`,
    adapter: { module: `file://${root}/bench/adapters.mjs`, name: 'wsAdapter' },
  },
];
const args = { ...parseBenchArgs([]), ...COMPARE_DEFAULTS, connections: Number(n), holdMs: 1_000 };
const addresses = Array.from({ length: COMPARE_DEFAULTS.addresses }, (_, i) => `127.0.0.${i + 1}`);
for (const target of targets) {
  const pool = await WorkerPool.start(COMPARE_DEFAULTS.workers);
  const hub = await startChildHub({ host: '127.0.0.1', port: 0 }, target.entry);
  try {
    const result = await idleScenario({
      args,
      hub,
      pool,
      adapter: target.adapter,
      addresses,
      progress: Progress.silent(),
      startBenchHub: () => Promise.reject(new Error('not used by the idle scenario')),
    });
    const figures = result.metrics.map((m) => `${m.key} ${Number(m.value).toFixed(2)}`);
    console.log(target.name, figures.join(', '), ...result.failures);
  } finally {
    await pool.closeAll();
    await pool.stop();
    await hub.close();
  }
}
