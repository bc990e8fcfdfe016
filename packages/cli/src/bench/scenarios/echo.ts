import { LatencyRecorder } from '../histogram.js';
import type { ScenarioContext, ScenarioResult } from '../scenario.js';
import * as kit from '../scenario.js';

/**
 * Request/reply latency: `--echo-clients` clients each send `--rate` echo requests per
 * second (each waits for its reply), through the server's request handler. Round trips
 * are recorded in an HDR histogram after the warm-up; reported as p50/p90/p99/max.
 */
export async function echoScenario(ctx: ScenarioContext): Promise<ScenarioResult> {
  const { args, hub, pool, progress } = ctx;
  const failures: string[] = [];
  const notes: string[] = [];
  // A server given by URL has no `echo` handler to rely on: every Tether server answers pings.
  const adapter = hub.kind === 'external' && ctx.adapter === 'tether' ? 'tether-ping' : ctx.adapter;
  if (adapter === 'tether-ping')
    notes.push('echo measured with app ping/pong (a server given by URL has no echo handler)');
  if (hub.kind === 'in-process') notes.push('in-process hub: server CPU includes the load clients');
  progress.phase(`echo: opening ${args.echoClients} clients`, args.echoClients / 2);
  const opened = await kit.openLoad(ctx, failures, {
    what: 'clients',
    count: args.echoClients,
    timeoutMs: 60_000,
    adapter,
  });
  progress.phase(
    `echo: ${opened.opened} clients × ${args.echoRate}/s`,
    args.warmupMs + args.durationMs,
  );
  const run = { clients: opened.opened, ratePerClient: args.echoRate, warmupMs: 0 };
  // The warm-up is a run of its own, so that the server's CPU is taken over the measured
  // window only (V8 still compiles the hot paths in the first seconds).
  if (args.warmupMs > 0) {
    await pool.echo({ ...run, durationMs: args.warmupMs, payloadBytes: args.payloadBytes });
  }
  const usageBefore = await hub.usage();
  const result = await pool.echo({
    ...run,
    durationMs: args.durationMs,
    payloadBytes: args.payloadBytes,
  });
  const usageAfter = await hub.usage();
  await pool.closeAll();
  const recorder = new LatencyRecorder();
  recorder.merge(result.histogram);
  const s = recorder.summary();
  if (result.errors > 0) failures.push(`${result.errors} echo requests failed`);
  if (s.count === 0) failures.push('no round trip measured');
  return {
    scenario: 'echo',
    metrics: [
      { key: 'clients', label: 'clients', value: opened.opened, unit: '' },
      kit.perSecond('roundTripsPerSec', 'round trips', s.count, args.durationMs / 1000),
      { key: 'p50Ms', label: 'latency p50', value: s.p50Ms, unit: 'ms' },
      { key: 'p90Ms', label: 'latency p90', value: s.p90Ms, unit: 'ms' },
      { key: 'p99Ms', label: 'latency p99', value: s.p99Ms, unit: 'ms' },
      { key: 'maxMs', label: 'latency max', value: s.maxMs, unit: 'ms' },
      kit.serverCpu('serverCpuPercent', 'server CPU', usageBefore, usageAfter),
    ],
    failures,
    notes,
  };
}
