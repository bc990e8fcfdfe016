import { setTimeout as sleep } from 'node:timers/promises';
import type { ScenarioContext, ScenarioResult } from '../scenario.js';
import * as kit from '../scenario.js';
import { cpuSpentMs } from '../usage.js';

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
  const clientsBefore = await pool.usage();
  progress.phase(`idle: opening ${args.connections} connections`, args.connections / 2);
  const opened = await kit.openLoad(ctx, failures, {
    what: 'connections',
    count: args.connections,
    timeoutMs: 60_000 + args.connections * 10,
  });
  const afterOpen = await hub.usage();
  const clientsAfterOpen = await pool.usage();
  progress.phase(`idle: holding ${opened.opened} connections`, args.holdMs);
  await sleep(args.holdMs);
  const gcRan = await hub.gc();
  const after = await hub.usage();
  const dropped = await kit.countDrops(ctx, failures, 'idle connections');
  await pool.closeAll();
  const perConn = (bytes: number): number | null =>
    opened.opened === 0 ? null : kit.round(bytes / opened.opened / 1024, 2);
  const perConnectUs = (cpuMs: number | undefined): number | null =>
    cpuMs === undefined || opened.opened === 0
      ? null
      : kit.round((cpuMs * 1000) / opened.opened, 1);
  if (before !== undefined && !gcRan)
    notes.push('no GC in the server process: memory figures are noisier');
  if (hub.kind === 'in-process') {
    notes.push('in-process hub: server CPU and memory include the load clients (use --hub child)');
  }
  return {
    scenario: 'idle',
    metrics: [
      { key: 'connections', label: 'connections open', value: opened.opened, unit: '' },
      kit.perSecond('connectRatePerSec', 'connect rate', opened.opened, opened.elapsedMs / 1000),
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
      kit.serverCpu('serverCpuConnectPercent', 'server CPU while connecting', before, afterOpen),
      {
        // What a connect costs the server itself, whoever the bottleneck of the rate was.
        key: 'serverCpuPerConnectUs',
        label: 'server CPU per connect',
        value: perConnectUs(before && afterOpen ? afterOpen.cpuMs - before.cpuMs : undefined),
        unit: 'µs',
      },
      {
        // The load clients' side of the same connects (their processes' CPU over the open):
        // where the server is not the only process on the cores, the rate is bounded by both.
        key: 'clientCpuPerConnectUs',
        label: 'load clients CPU per connect',
        value: perConnectUs(cpuSpentMs(clientsBefore, clientsAfterOpen)),
        unit: 'µs',
      },
      kit.serverCpu('serverCpuIdlePercent', 'server CPU while idle', afterOpen, after),
      { key: 'dropped', label: 'dropped while idle', value: dropped, unit: '' },
    ],
    failures,
    notes,
  };
}
