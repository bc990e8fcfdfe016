import { setTimeout as sleep } from 'node:timers/promises';
import { reasons, type ScenarioContext, type ScenarioResult } from '../scenario.js';
import { cpuPercent } from '../usage.js';

/**
 * What heartbeats cost: `--connections` idle connections on a server that pings each of
 * them every `heartbeatIntervalMs` (the server is started with that interval), held for a
 * warm-up of at least two intervals, then the server's CPU over `--duration`. Nothing
 * else happens on the connections, so the CPU is the heartbeat's (and the sweep's).
 */
export async function heartbeatScenario(
  ctx: ScenarioContext,
  intervalMs: number,
): Promise<ScenarioResult> {
  const { args, hub, pool, progress } = ctx;
  const failures: string[] = [];
  progress.phase(`heartbeat: opening ${args.connections} connections`, args.connections / 2);
  const opened = await pool.open({
    url: hub.url,
    count: args.connections,
    addresses: ctx.addresses,
    concurrency: args.concurrency,
    adapter: ctx.adapter,
    timeoutMs: 60_000 + args.connections * 10,
  });
  if (opened.failed > 0)
    failures.push(`${opened.failed} connections failed: ${reasons(opened.errors)}`);
  progress.phase('heartbeat: warming up', Math.max(args.warmupMs, intervalMs * 2));
  await sleep(Math.max(args.warmupMs, intervalMs * 2));
  const before = await hub.usage();
  progress.phase(
    `heartbeat: ${opened.opened} connections, every ${intervalMs} ms`,
    args.durationMs,
  );
  await sleep(args.durationMs);
  const after = await hub.usage();
  const drops = await pool.drops();
  const dropped = Object.values(drops).reduce((a, b) => a + b, 0);
  if (dropped > 0) failures.push(`${dropped} connections dropped: ${reasons(drops)}`);
  await pool.closeAll();
  return {
    scenario: 'heartbeat',
    metrics: [
      { key: 'connections', label: 'connections open', value: opened.opened, unit: '' },
      {
        key: 'serverCpuPercent',
        label: 'server CPU',
        value: before && after ? cpuPercent(before, after) : null,
        unit: '%',
      },
      {
        key: 'connectionsAfter',
        label: 'connections open at the end',
        value: after?.connections ?? null,
        unit: '',
      },
      { key: 'dropped', label: 'dropped', value: dropped, unit: '' },
    ],
    failures,
    notes: [],
  };
}
