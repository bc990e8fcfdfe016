import type { FaultProxy } from '@tether/fault-proxy';
import { type BenchServer, startBenchServer } from '../bench/hub-server.js';
import { sleep, waitUntil } from '../wait-until.js';
import type { ChaosAuditArgs } from './args.js';
import { AuditedClient } from './audited-client.js';
import { type Detection, StallWatch } from './detections.js';
import { FaultDriver, type FaultLog, seededRandom } from './faults.js';
import { type SequenceVerdict, sumVerdicts } from './sequence-audit.js';
import { InOrderPublisher, SenderAudits } from './server-audit.js';
import { type ChaosVerdict, judgeAudit } from './verdict.js';

/** Poll interval of the audit's waits (connect, settle): the settle check walks every sequence. */
const POLL_MS = 50;

/**
 * The chaos audit: a hub, a fault proxy per client in front of it, and real clients that
 * receive numbered publications and send numbered messages through the faults. After
 * the faults stop, everything must arrive; the verdict counts what did not, what came
 * twice or out of order, and how long half-open links took to detect on each side.
 *
 * The audit clients disable the circuit breaker and cap backoff at 2 s: the audit
 * measures delivery, and a breaker parked for a minute after a run of cuts would only
 * measure the breaker.
 */

/** Topic of the audit's publications. */
export const AUDIT_TOPIC = 'chaos:audit';

/** How often the traffic loop issues due publications and sends. */
const TRAFFIC_TICK_MS = 20;
/** Everything the audit saw, before judging. */
export interface ChaosObservations {
  clients: number;
  durationMs: number;
  settleMs: number;
  published: number;
  /** Publications the server refused (each is also lost to every client). */
  publishErrors: number;
  publications: SequenceVerdict;
  sendsIssued: number;
  sendsAcked: number;
  sends: SequenceVerdict;
  reconnects: number;
  resumeFailures: number;
  gapSignals: number;
  closesByCode: Record<string, number>;
  notOpenAtEnd: number;
  faults: FaultLog;
  /**
   * Per stall: how long it lasted, whether the link was open when it began, whether both
   * sides must detect it (open, and longer than heartbeat interval + timeout + slack; the
   * end of the run cuts the last stall short), and the detection time by the client and
   * by the server (ms).
   */
  detections: Detection[];
}

/** Runs the audit of `args`; `onPhase` reports progress in words. */
export async function runChaosAudit(
  args: ChaosAuditArgs,
  onPhase: (phase: string) => void = () => {},
): Promise<ChaosVerdict> {
  const { createFaultProxy } = await import('@tether/fault-proxy');
  const received = new SenderAudits();
  const server: BenchServer = await startBenchServer({
    host: '127.0.0.1',
    port: 0,
    store: args.store,
    heartbeatIntervalMs: args.heartbeatIntervalMs,
    heartbeatTimeoutMs: args.heartbeatTimeoutMs,
    ...(args.resumeWindowMs === undefined ? {} : { resumeWindowMs: args.resumeWindowMs }),
    onMessage: (data) => received.record(data),
  });
  const proxies: FaultProxy[] = [];
  const clients: AuditedClient[] = [];
  const watch = new StallWatch(clients, {
    intervalMs: args.heartbeatIntervalMs,
    timeoutMs: args.heartbeatTimeoutMs,
  });
  watch.watchServer(server.endpoint);
  let driver: FaultDriver | undefined;
  try {
    for (let i = 0; i < args.clients; i += 1) {
      proxies.push(await createFaultProxy({ target: { host: '127.0.0.1', port: server.port } }));
    }
    onPhase(`connecting ${args.clients} clients`);
    for (const [i, proxy] of proxies.entries()) {
      clients.push(
        new AuditedClient(`chaos-${i + 1}`, `ws://127.0.0.1:${proxy.port}/ws`, {
          breakerThreshold: 0,
          maxReconnectDelayMs: 2_000,
        }),
      );
    }
    if (!(await waitUntil(() => clients.every((c) => c.open), 30_000, POLL_MS))) {
      throw new Error(`${clients.filter((c) => !c.open).length} clients did not connect`);
    }
    await Promise.all(clients.map((c) => c.subscribe(AUDIT_TOPIC)));

    const random = args.seed === undefined ? Math.random : seededRandom(args.seed);
    driver = new FaultDriver(proxies, args.faults, random, watch.onStall);
    onPhase(`faults and traffic for ${Math.round(args.durationMs / 1000)} s`);
    driver.start();
    const traffic = await runTraffic(server, clients, args);
    driver.stop();

    onPhase('faults stopped, settling');
    const settleStart = performance.now();
    const sent = traffic.sent;
    await waitUntil(
      () =>
        clients.every(
          (c, i) =>
            c.open &&
            c.pubs.complete(traffic.published) &&
            c.sendsAcked + c.sendsFailed >= (sent[i] ?? 0) &&
            received.of(c.name).complete(sent[i] ?? 0),
        ),
      args.settleMs,
      POLL_MS,
    );
    const settleMs = performance.now() - settleStart;

    const detections = watch.detections(driver.log.stalls);
    const observations: ChaosObservations = {
      clients: clients.length,
      durationMs: args.durationMs,
      settleMs,
      published: traffic.published,
      publishErrors: traffic.publishErrors,
      publications: sumVerdicts(clients.map((c) => c.pubs.verdict(traffic.published))),
      sendsIssued: sent.reduce((a, b) => a + b, 0),
      sendsAcked: clients.reduce((sum, c) => sum + c.sendsAcked, 0),
      sends: received.verdict(clients.map((c, i) => [c.name, sent[i] ?? 0])),
      reconnects: clients.reduce((sum, c) => sum + c.reconnects, 0),
      resumeFailures: clients.reduce((sum, c) => sum + c.resumeFailures, 0),
      gapSignals: clients.reduce((sum, c) => sum + c.gaps, 0),
      closesByCode: mergeCounts(clients.map((c) => c.closes)),
      notOpenAtEnd: clients.filter((c) => !c.open).length,
      faults: driver.log,
      detections,
    };
    return judgeAudit(args, observations);
  } finally {
    driver?.stop();
    await Promise.all(clients.map((c) => c.close().catch(() => {})));
    await server.close({ drainTimeoutMs: 1_000, retryAfterMs: 0, retrySpreadMs: 0 });
    await Promise.all(proxies.map((p) => p.close()));
  }
}

/** Publications from the server and sends from every client, at the configured rates. */
async function runTraffic(
  server: BenchServer,
  clients: readonly AuditedClient[],
  args: ChaosAuditArgs,
): Promise<{ published: number; sent: number[]; publishErrors: number }> {
  const sent = clients.map(() => 0);
  const publisher = new InOrderPublisher((data) => server.tether.publish(AUDIT_TOPIC, data));
  const started = performance.now();
  const end = started + args.durationMs;
  while (performance.now() < end) {
    const elapsedSec = (performance.now() - started) / 1000;
    const duePubs = Math.floor(elapsedSec * args.publishRate);
    while (publisher.published < duePubs) publisher.next();
    const dueSends = Math.floor(elapsedSec * args.sendRate);
    clients.forEach((client, i) => {
      while ((sent[i] as number) < dueSends) {
        sent[i] = (sent[i] as number) + 1;
        void client.send(sent[i] as number);
      }
    });
    await sleep(TRAFFIC_TICK_MS);
  }
  await publisher.settled();
  return { published: publisher.published, sent, publishErrors: publisher.failed };
}

function mergeCounts(records: ReadonlyArray<Record<string, number>>): Record<string, number> {
  const merged: Record<string, number> = {};
  for (const r of records) for (const [k, v] of Object.entries(r)) merged[k] = (merged[k] ?? 0) + v;
  return merged;
}
