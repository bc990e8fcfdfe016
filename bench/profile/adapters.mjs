#!/usr/bin/env node
// Load-client harness behind bench/PROFILE.md "Idle memory and connect rate" (not a
// benchmark: bench:compare is). Opens TOTAL connections with bench:compare's own load
// adapters (the built-in Tether one; raw ws from bench/adapters.mjs) from this one
// process, each against its server child pinned to core 1, and prints the rate, this
// process's CPU per connect (the load client's cost) and the server's. Run it under
// `taskset -c 0` so the two sides do not share a core.
//   taskset -c 0 node bench/profile/adapters.mjs tether,ws [TOTAL]
// env: PROF=1 writes a CPU profile of each open (this process) to $PROFILE_OUT (cwd).
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startChildHub } from '../../packages/cli/dist/bench/hub.js';
import { LocalPool } from '../../packages/cli/dist/bench/pool.js';

const here = (path) => fileURLToPath(new URL(path, import.meta.url));
const adapters = new URL('../adapters.mjs', import.meta.url).href;
const SERVERS = {
  tether: [here('../../packages/cli/dist/bench/hub-child.js'), 'tether'],
  ws: [here('../servers/ws-server.mjs'), { module: adapters, name: 'wsAdapter' }],
};
const [names = 'tether,ws', total = '8000'] = process.argv.slice(2);
const n = Number(total);
const inspector = new Session();
inspector.connect();

for (const name of names.split(',')) {
  const [entry, adapter] = SERVERS[name];
  const hub = await startChildHub({ host: '127.0.0.1', port: 0, instrument: false }, entry, '1');
  const pool = new LocalPool();
  const before = await hub.usage();
  if (process.env.PROF) {
    await inspector.post('Profiler.enable');
    await inspector.post('Profiler.setSamplingInterval', { interval: 100 });
    await inspector.post('Profiler.start');
  }
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const opened = await pool.open({
    url: hub.url,
    count: n,
    addresses: Array.from({ length: 8 }, (_, i) => `127.0.0.${i + 1}`),
    concurrency: 200,
    adapter,
    timeoutMs: 60_000,
  });
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const after = await hub.usage();
  if (process.env.PROF) {
    const { profile } = await inspector.post('Profiler.stop');
    const out = join(process.env.PROFILE_OUT ?? process.cwd(), `client-${name}.cpuprofile`);
    writeFileSync(out, JSON.stringify(profile));
  }
  const perConnect = (us) => `${Math.round(us / opened.opened)} µs`;
  console.log(
    `${name}: ${opened.opened} connects, ${Math.round((opened.opened / wall) * 1000)}/s; ` +
      `client ${perConnect(cpu.user + cpu.system)} a connect (system ${perConnect(cpu.system)}), ` +
      `server ${perConnect((after.cpuMs - before.cpuMs) * 1000)}`,
  );
  await pool.closeAll();
  await hub.close();
}
process.exit(0);
