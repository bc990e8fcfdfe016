/**
 * Acceptance audit 2 ("lose nothing" with a durable store): the same fan-out as audit 1,
 * but the server runs in a child process with the SQLite store on a fixed port and is
 * restarted twice while it serves: once gracefully (SIGTERM) and once by SIGKILL. The
 * publisher is a separate Tether client allowed to publish; it retries a publication
 * until `published` answers (continuing from its last acknowledged number after each
 * restart). Beside the publications it has the server send direct messages 1..M to every
 * subscriber session (an idempotent request, retried the same way). Every subscriber must
 * end with exactly 1..N publications and 1..M direct messages, and no session or position
 * may be reported lost: SQLite keeps sessions, their logs, epochs and history across both
 * restarts.
 */
import { getFreePort, tempDir, waitFor, withTimeout } from '@tether/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { AuditClient, numberOf, summarize } from './audit-client.js';
import { startProxies, urlVia } from './audit-server.js';
import { CutScheduler } from './cut-scheduler.js';
import { Resources } from './resources.js';
import { RetryingPublisher } from './retrying-publisher.js';
import { range, SequenceAuditor } from './sequence-auditor.js';
import type { EntryConfig } from './server-entry.js';
import { bundleServer, type ProcessExit, ServerProcess } from './server-process.js';

const CLIENTS = 50;
const PUBLICATIONS = 10_000;
const TOPIC = 'audit.durable';
/** Direct messages to every subscriber session, sent beside the publications. */
const DIRECT = 1_000;
const PUBLISHER_TOKEN = 'audit-publisher';
/** Publications in flight at once. */
const WINDOW = 16;
const TARGET_CUTS = 240;
const MIN_CUTS = 200;
/** Which publication is preceded by which restart. */
const RESTARTS = new Map<number, 'SIGTERM' | 'SIGKILL'>([
  [Math.floor(PUBLICATIONS / 3), 'SIGTERM'],
  [Math.floor((2 * PUBLICATIONS) / 3), 'SIGKILL'],
]);

const resources = new Resources();
afterEach(() => resources.closeAll());

/** The error code of a rejected publish, if it has one. */
function codeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

describe('audit: durable topic across a SIGTERM restart and a SIGKILL', () => {
  it(`${CLIENTS} subscribers x (${PUBLICATIONS} publications + ${DIRECT} direct messages), SQLite, SIGTERM + SIGKILL: each gets exactly all, in order`, async () => {
    const bundle = resources.add(await bundleServer(), (b) => b.cleanup());
    const dir = resources.add(await tempDir('tether-audit-db-'), (d) => d.cleanup());
    const config: EntryConfig = {
      port: await getFreePort(),
      dbPath: `${dir.path}/tether.db`,
      historyMaxCount: PUBLICATIONS * 2,
      topic: TOPIC,
      publisherToken: PUBLISHER_TOKEN,
      resumeWindowMs: 120_000,
    };
    let server = await ServerProcess.start(bundle, config);
    // Whatever server is current at the end is killed (and its stderr kept for failures).
    resources.add(null, () => server.kill());

    const proxies = await startProxies(config.port, CLIENTS);
    for (const proxy of proxies) resources.add(proxy, (p) => p.close());
    const clients: AuditClient[] = [];
    const auditor = new SequenceAuditor((stream) => {
      const client = clients.find((c) => c.name === stream.split('/')[0]);
      return client === undefined ? '' : client.describe();
    });
    for (let i = 0; i < CLIENTS; i += 1) {
      const name = `client-${i}`;
      auditor.declare(name);
      auditor.declare(`${name}/direct`);
      const client = new AuditClient(name, urlVia(proxies[i] as (typeof proxies)[number]), {
        token: 'audit-subscriber',
      });
      client.client.on('message', ({ data }) => {
        const n = numberOf(data);
        if (n === undefined) client.strays.push(JSON.stringify(data).slice(0, 200));
        else auditor.record(`${name}/direct`, n);
      });
      clients.push(resources.add(client, (c) => c.close()));
    }
    await withTimeout(
      Promise.all(clients.map((c) => c.follow(TOPIC, (n) => auditor.record(c.name, n)))),
      20_000,
      'every client subscribed',
    );
    const publisher = resources.add(
      new AuditClient('publisher', `ws://127.0.0.1:${config.port}/ws`, {
        token: PUBLISHER_TOKEN,
      }),
      (c) => c.close(),
    );
    await withTimeout(publisher.connected(), 10_000, 'publisher connected');

    const cuts = new CutScheduler(proxies, { minDelayMs: 5, maxDelayMs: 80 });
    resources.add(cuts, (s) => s.stop());
    cuts.start();

    // Restarts run beside the publisher, which keeps retrying until the new server answers.
    const exits: Array<{ kind: string; exit: ProcessExit }> = [];
    const restarted = new Set<number>();
    const restart = async (kind: 'SIGTERM' | 'SIGKILL'): Promise<void> => {
      const old = server;
      const exit = kind === 'SIGTERM' ? await old.terminate() : await old.kill();
      exits.push({ kind, exit });
      server = await ServerProcess.start(bundle, config);
    };
    const restarts: Promise<void>[] = [];
    const publishing = new RetryingPublisher(
      {
        publish: (n) => publisher.client.publish(TOPIC, { n }),
        connected: () => withTimeout(publisher.connected(), 20_000, 'publisher back'),
      },
      WINDOW,
    );
    // Direct messages go beside the publications, through the same restarts; the handler
    // is idempotent, so any failure is simply retried.
    let directRetries = 0;
    let confirmedPublications = 0;
    const sendDirect = async (): Promise<void> => {
      for (let n = 1; n <= DIRECT; n += 1) {
        // Paced by the publications, so direct messages are in flight at both restarts.
        const due = Math.floor(((n - 1) * PUBLICATIONS) / DIRECT);
        if (confirmedPublications < due) {
          await waitFor(() => confirmedPublications >= due, { timeoutMs: 60_000, intervalMs: 2 });
        }
        for (;;) {
          try {
            await publisher.client.request('direct', { n }, { timeoutMs: 10_000 });
            break;
          } catch (err) {
            directRetries += 1;
            if (directRetries > 200) throw err;
            await withTimeout(publisher.connected(), 20_000, 'publisher back');
          }
        }
      }
    };
    const direct = sendDirect();
    direct.catch(() => undefined); // awaited below; a failure meanwhile is not unhandled
    try {
      await publishing.publishAll(1, PUBLICATIONS, {
        sent: async (first, last) => {
          for (const [at, kind] of RESTARTS) {
            if (at < first || at > last || restarted.has(at)) continue;
            restarted.add(at);
            // The restart lands while this window is in flight: sent, maybe stored, maybe
            // answered (fault injection at a random instant, not a wait).
            await new Promise((resolve) => setTimeout(resolve, Math.random() * 3));
            restarts.push(restart(kind));
          }
        },
        confirmed: (last) => {
          confirmedPublications = last;
          return cuts.waitForCuts(Math.floor((TARGET_CUTS * last) / PUBLICATIONS));
        },
      });
      await withTimeout(Promise.all(restarts), 30_000, 'restarts done');
      await withTimeout(direct, 60_000, 'direct messages sent');
    } finally {
      cuts.stop();
    }
    // The idempotency guard the retries rely on: a stored number, or one that skips
    // ahead, is refused, so a retry can never add a duplicate or a hole.
    for (const n of [PUBLICATIONS, PUBLICATIONS + 2]) {
      const refused = await publisher.client.publish(TOPIC, { n }).then(
        () => 'published',
        (err: unknown) => codeOf(err),
      );
      expect(refused, `publishing ${n} again`).toBe('FORBIDDEN');
    }

    const expected = (stream: string) =>
      stream.endsWith('/direct') ? range(1, DIRECT) : range(1, PUBLICATIONS);
    await waitFor(() => auditor.allReached((stream) => expected(stream).length), {
      timeoutMs: 60_000,
      message: 'every client received every publication and direct message',
    }).catch(() => undefined);
    const stderr = server.stderr;
    expect(auditor.problems(expected), stderr).toEqual([]);
    expect(clients.flatMap((c) => c.strays)).toEqual([]);
    expect(clients.flatMap((c) => c.gaps.map((g) => `${c.name}: ${g.detail}`))).toEqual([]);
    expect(
      clients.filter((c) => c.sessionLosses.length > 0).map((c) => c.describe()),
      'no session may be lost (resumed: false): the SQLite store keeps them across restarts',
    ).toEqual([]);
    // A retry may find some of its window already stored when a SIGKILL took the answers
    // (never after SIGTERM: a graceful shutdown answers what it stored, see
    // graceful-publish.test.ts), so at most one window.
    expect(
      publishing.alreadyStored.length,
      `refused as stored: ${publishing.alreadyStored.join(', ')}`,
    ).toBeLessThanOrEqual(WINDOW);
    expect(exits.map((e) => e.kind)).toEqual(['SIGTERM', 'SIGKILL']);
    expect(exits[0]?.exit.code, 'graceful shutdown exits 0').toBe(0);
    expect(exits[1]?.exit.signal).toBe('SIGKILL');
    const closes = summarize(clients.flatMap((c) => c.closes));
    expect(cuts.cuts, `close codes seen: ${closes}`).toBeGreaterThanOrEqual(MIN_CUTS);
  }, 150_000);
});
