import { setTimeout as sleep } from 'node:timers/promises';
import { reasons, round, type ScenarioContext, type ScenarioResult } from '../scenario.js';
import { cpuPercent } from '../usage.js';

/**
 * Idle connections at scale: opens `--connections` Tether connections (hello/welcome
 * each), holds them idle for `--hold`, and reports the connect rate and the server's
 * memory per connection (difference of two samples after a full GC in the server).
 */
export async function idleScenario(ctx: ScenarioContext): Promise<ScenarioResult> {
  const { args, hub, pool, progress } = ctx;
  const failures: string[] = [];
  const notes: string[] = [];
  await hub.gc();
  const before = await hub.usage();
  progress.phase(`idle: opening ${args.connections} connections`, args.connections / 2);
  const opened = await pool.open({
    url: hub.url,
    count: args.connections,
    addresses: ctx.addresses,
    concurrency: args.concurrency,
    adapter: ctx.adapter,
    timeoutMs: 60_000 + args.connections * 10,
  });
  const afterOpen = await hub.usage();
  if (opened.failed > 0)
    failures.push(`${opened.failed} connections failed: ${reasons(opened.errors)}`);
  progress.phase(`idle: holding ${opened.opened} connections`, args.holdMs);
  await sleep(args.holdMs);
  const gcRan = await hub.gc();
  const after = await hub.usage();
  const drops = await pool.drops();
  const dropped = Object.values(drops).reduce((a, b) => a + b, 0);
  if (dropped > 0) failures.push(`${dropped} idle connections dropped: ${reasons(drops)}`);
  await pool.closeAll();
  const perConn = (bytes: number): number | null =>
    opened.opened === 0 ? null : round(bytes / opened.opened / 1024, 2);
  if (before !== undefined && !gcRan)
    notes.push('no GC in the server process: memory figures are noisier');
  if (hub.kind === 'in-process') {
    notes.push('in-process hub: server CPU and memory include the load clients (use --hub child)');
  }
  return {
    scenario: 'idle',
    metrics: [
      { key: 'connections', label: 'connections open', value: opened.opened, unit: '' },
      {
        key: 'connectRatePerSec',
        label: 'connect rate',
        value: round(opened.opened / (opened.elapsedMs / 1000), 0),
        unit: '/s',
      },
      {
        key: 'rssPerConnectionKiB',
        label: 'server RSS per connection',
        value: before && after ? perConn(after.rssBytes - before.rssBytes) : null,
        unit: 'KiB',
      },
      {
        // Everything the server processes hold, baseline included, over the connections
        // (with `tether serve --workers N`: every worker and the primary).
        key: 'rssTotalPerConnectionKiB',
        label: 'server RSS (total) per connection',
        value: after === undefined ? null : perConn(after.rssBytes),
        unit: 'KiB',
      },
      {
        key: 'heapPerConnectionKiB',
        label: 'server heap per connection',
        value: before && after ? perConn(after.heapUsedBytes - before.heapUsedBytes) : null,
        unit: 'KiB',
      },
      {
        key: 'serverCpuConnectPercent',
        label: 'server CPU while connecting',
        value: before && afterOpen ? cpuPercent(before, afterOpen) : null,
        unit: '%',
      },
      {
        key: 'serverCpuIdlePercent',
        label: 'server CPU while idle',
        value: afterOpen && after ? cpuPercent(afterOpen, after) : null,
        unit: '%',
      },
      { key: 'dropped', label: 'dropped while idle', value: dropped, unit: '' },
    ],
    failures,
    notes,
  };
}
