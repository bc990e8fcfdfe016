import { formatDuration } from '@tether/common';
import { startBenchHub } from '../bench/hub.js';
import { AuditedClient } from '../chaos/audited-client.js';
import { sumVerdicts } from '../chaos/sequence-audit.js';
import { parseProbeArgs } from '../probe-args.js';
import { runProbeConnection } from '../probe-connection.js';
import { buildProbeReport } from '../probe-report.js';
import { type CheckResult, runCheck, sleep, waitUntil } from './check.js';

const TOPIC = 'stability:long-lived';

export interface LongLivedOptions {
  durationMs: number;
  clients: number;
  heartbeatIntervalMs: number;
  heartbeatTimeoutMs: number;
  hub: 'child' | 'in-process';
}

/**
 * Long-lived connections with short heartbeats: clients and a probe hold their
 * connections for the whole duration (far longer than the 30 s "long-lived" tests our
 * users ran, and past the common 60 s and 100 s proxy idle timeouts) while a publication
 * goes out every few seconds. Nothing may drop, every client keeps its first connection,
 * every heartbeat must be answered, and every publication must arrive.
 */
export function longLivedCheck(options: LongLivedOptions): Promise<CheckResult> {
  const hb = `${formatDuration(options.heartbeatIntervalMs)} + ${formatDuration(options.heartbeatTimeoutMs)}`;
  return runCheck(
    'long-lived',
    `${options.clients} clients held ${formatDuration(options.durationMs)} with heartbeat ${hb}`,
    async (check) => {
      const hub = await startBenchHub({
        url: undefined,
        mode: options.hub,
        server: {
          host: '127.0.0.1',
          port: 0,
          heartbeatIntervalMs: options.heartbeatIntervalMs,
          heartbeatTimeoutMs: options.heartbeatTimeoutMs,
        },
      });
      const clients = Array.from(
        { length: options.clients },
        (_, i) => new AuditedClient(`long-lived-${i + 1}`, hub.url),
      );
      try {
        const allOpen = await waitUntil(() => clients.every((c) => c.open), 30_000);
        check.expect(allOpen, 'not every client connected');
        await Promise.all(clients.map((c) => c.subscribe(TOPIC)));
        const probeArgs = parseProbeArgs([
          hub.url,
          '--duration',
          `${options.durationMs}ms`,
          '--ping-interval',
          '1s',
        ]);
        const probing = runProbeConnection(probeArgs);
        const publishEveryMs = Math.max(options.heartbeatIntervalMs, 1_000);
        const end = performance.now() + options.durationMs;
        let published = 0;
        while (performance.now() < end) {
          published += 1;
          await hub.publish({ topic: TOPIC, count: 1, payloadBytes: 16, first: published });
          await sleep(Math.min(publishEveryMs, Math.max(0, end - performance.now())));
        }
        const probe = buildProbeReport(probeArgs, await probing);
        await waitUntil(() => clients.every((c) => c.pubs.complete(published)), 10_000);

        const drops = clients.reduce((sum, c) => sum + c.closeLog.length, 0);
        const reopened = clients.filter((c) => c.opens !== 1).length;
        const pubs = sumVerdicts(clients.map((c) => c.pubs.verdict(published)));
        // The server pings every interval, each up to a sweep tick (a quarter of the
        // smallest deadline) late; fewer than this means heartbeats stopped.
        const expectedBeats =
          Math.floor(options.durationMs / (options.heartbeatIntervalMs * 1.25)) - 1;
        const beats = probe.heartbeats.app;
        check
          .number('held', formatDuration(options.durationMs))
          .number('clients + probe', `${clients.length} + 1`)
          .number('heartbeat interval + timeout', hb)
          .number('drops during the hold', drops)
          .number('server heartbeats seen by the probe', `${beats} (>= ${expectedBeats} expected)`)
          .number(
            'probe RTT p50 / p99 / max',
            probe.rtt === null
              ? 'n/a'
              : `${probe.rtt.p50Ms} / ${probe.rtt.p99Ms} / ${probe.rtt.maxMs} ms`,
          )
          .number('publications delivered', `${pubs.delivered}/${pubs.expected}`);
        check.expect(drops === 0, `${drops} connections dropped during the hold`);
        check.expect(reopened === 0, `${reopened} clients had to reconnect`);
        check.expect(probe.healthy, `probe unhealthy: ${probe.problems.join('; ')}`);
        check.expect(
          beats >= expectedBeats,
          `only ${beats} server heartbeats in ${formatDuration(options.durationMs)}`,
        );
        check.expect(
          pubs.lost + pubs.duplicated + pubs.reordered === 0,
          `publications: ${pubs.lost} lost, ${pubs.duplicated} duplicated, ${pubs.reordered} reordered`,
        );
        check.note(
          `hub: ${hub.kind}; 60 s and 100 s are common proxy idle timeouts; the heartbeat keeps every link busier than that`,
        );
      } finally {
        await Promise.all(clients.map((c) => c.close()));
        await hub.close();
      }
    },
  );
}
