import { startBenchServer } from '../bench/hub-server.js';
import { AuditedClient } from '../chaos/audited-client.js';
import { sumVerdicts } from '../chaos/sequence-audit.js';
import { SenderAudits } from '../chaos/server-audit.js';
import { type CheckResult, runCheck, sleep, waitUntil } from './check.js';

const TOPIC = 'stability:concurrency';

/**
 * Many concurrent clients on one endpoint: each subscribes to one topic and sends its own
 * numbered messages while numbered publications go out to all of them. Every client must
 * get every publication once and in order, and the server must process every send once.
 */
export function concurrencyCheck(options: {
  clients: number;
  publications: number;
  sendsPerClient: number;
}): Promise<CheckResult> {
  return runCheck(
    'concurrency',
    `${options.clients} concurrent clients: publications to all, sends from each`,
    async (check) => {
      const processed = new SenderAudits();
      const server = await startBenchServer({
        host: '127.0.0.1',
        port: 0,
        onMessage: (data) => processed.record(data),
      });
      const clients = Array.from(
        { length: options.clients },
        (_, i) => new AuditedClient(`concurrent-${i + 1}`, server.url),
      );
      try {
        const started = performance.now();
        const allOpen = await waitUntil(() => clients.every((c) => c.open), 30_000);
        check.number(
          'clients connected',
          `${clients.filter((c) => c.open).length}/${clients.length}`,
        );
        check.number('time to connect all', `${Math.round(performance.now() - started)} ms`);
        check.expect(allOpen, 'not every client connected');
        await Promise.all(clients.map((c) => c.subscribe(TOPIC)));

        // Publications in bursts of 10 while every client sends, interleaved.
        let published = 0;
        for (
          let sent = 1;
          sent <= options.sendsPerClient || published < options.publications;
          sent += 1
        ) {
          if (sent <= options.sendsPerClient) for (const c of clients) void c.send(sent);
          for (let i = 0; i < 10 && published < options.publications; i += 1) {
            published += 1;
            await server.tether.publish(TOPIC, { n: published });
          }
          await sleep(10);
        }
        const sends = options.sendsPerClient;
        await waitUntil(
          () =>
            clients.every(
              (c) =>
                c.pubs.complete(published) &&
                c.sendsAcked === sends &&
                processed.of(c.name).complete(sends),
            ),
          30_000,
        );
        const pubs = sumVerdicts(clients.map((c) => c.pubs.verdict(published)));
        const sent = processed.verdict(clients.map((c) => [c.name, sends]));
        check
          .number('publications delivered', `${pubs.delivered}/${pubs.expected}`)
          .number('sends processed by the server', `${sent.delivered}/${sent.expected}`)
          .number('lost', pubs.lost + sent.lost)
          .number('duplicated', pubs.duplicated + sent.duplicated)
          .number('reordered', pubs.reordered + sent.reordered);
        check.expect(
          pubs.lost === 0 && sent.lost === 0,
          `${pubs.lost} publications and ${sent.lost} sends lost`,
        );
        check.expect(
          pubs.duplicated + sent.duplicated === 0,
          `${pubs.duplicated + sent.duplicated} duplicates`,
        );
        check.expect(
          pubs.reordered + sent.reordered === 0,
          `${pubs.reordered + sent.reordered} out of order`,
        );
        const reconnects = clients.reduce((sum, c) => sum + c.reconnects, 0);
        check
          .number('unexpected reconnects', reconnects)
          .expect(reconnects === 0, `${reconnects} reconnects`);
      } finally {
        await Promise.all(clients.map((c) => c.close()));
        await server.close({ drainTimeoutMs: 1_000 });
      }
    },
  );
}
