import type { ScenarioContext, ScenarioResult } from '../scenario.js';
import * as kit from '../scenario.js';

/** Topic of the fan-out scenario. */
export const FANOUT_TOPIC = 'bench:fanout';

/** A burst not fully delivered within this long is a stall (a failure). */
const ROUND_TIMEOUT_MS = 10_000;

/**
 * One publisher to `--subscribers` subscribers. Publishes in bursts of `--batch` (in one
 * tick, as a busy publisher does) and waits until every subscriber got the burst before
 * the next one (closed loop: throughput without unbounded queues). Warm-up first, then
 * `--duration` measured: delivered messages/s and the server's CPU.
 */
export async function fanoutScenario(ctx: ScenarioContext): Promise<ScenarioResult> {
  const { args, hub, pool, progress } = ctx;
  const failures: string[] = [];
  const notes: string[] = [];
  progress.phase(`fanout: opening ${args.subscribers} subscribers`, args.subscribers / 2);
  const opened = await kit.openLoad(ctx, failures, {
    what: 'subscribers',
    count: args.subscribers,
    timeoutMs: 60_000 + args.subscribers * 10,
  });
  const subscribed = await pool.subscribeAll(FANOUT_TOPIC, 30_000);
  if (subscribed < opened.opened)
    failures.push(`${opened.opened - subscribed} subscriptions not confirmed`);

  let published = 0;
  let stalled = false;
  const runFor = async (ms: number): Promise<void> => {
    const end = performance.now() + ms;
    while (performance.now() < end && !stalled) {
      await hub.publish({
        topic: FANOUT_TOPIC,
        count: args.batch,
        payloadBytes: args.payloadBytes,
        first: published + 1,
      });
      published += args.batch;
      const got = await pool.waitDelivered(published, ROUND_TIMEOUT_MS);
      if (got < published * subscribed) {
        stalled = true;
        failures.push(
          `deliveries stalled: ${published * subscribed - got} of ${published * subscribed} missing after ${ROUND_TIMEOUT_MS / 1000} s`,
        );
      }
    }
  };
  progress.phase('fanout: warming up', args.warmupMs);
  await runFor(args.warmupMs);
  const deliveredBefore = await pool.delivered();
  const publishedBefore = published;
  const usageBefore = await hub.usage();
  const started = performance.now();
  progress.phase(`fanout: ${subscribed} subscribers`, args.durationMs);
  await runFor(args.durationMs);
  const elapsedSec = (performance.now() - started) / 1000;
  const usageAfter = await hub.usage();
  const delivered = (await pool.delivered()) - deliveredBefore;
  await kit.countDrops(ctx, failures, 'subscribers');
  await pool.closeAll();
  const serverCpuSec =
    usageBefore && usageAfter ? (usageAfter.cpuMs - usageBefore.cpuMs) / 1000 : undefined;
  if (hub.kind === 'in-process') notes.push('in-process hub: server CPU includes the load clients');
  if (hub.kind === 'external') {
    notes.push(
      "a server given by URL: publications go through one client connection, paced under the server's announced rate limit",
    );
  }
  return {
    scenario: 'fanout',
    metrics: [
      { key: 'subscribers', label: 'subscribers', value: subscribed, unit: '' },
      kit.perSecond('publicationsPerSec', 'publications', published - publishedBefore, elapsedSec),
      kit.perSecond('deliveredPerSec', 'delivered messages', delivered, elapsedSec),
      kit.serverCpu('serverCpuPercent', 'server CPU', usageBefore, usageAfter),
      {
        key: 'deliveredPerCpuSec',
        label: 'delivered per server CPU-second',
        value: serverCpuSec && serverCpuSec > 0 ? kit.round(delivered / serverCpuSec, 0) : null,
        unit: '',
      },
    ],
    failures,
    notes,
  };
}
