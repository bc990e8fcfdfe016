/**
 * Acceptance audit 3 ("lose nothing", client -> server): 20 clients each send 1,000
 * numbered messages while their connections are cut at random; the server's message
 * handler must see every message of every client exactly once, in order per client.
 */
import type { Json } from '@tether/protocol';
import { withTimeout } from '@tether/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { AuditClient, summarize } from './audit-client.js';
import { startAuditServer, startProxies, urlVia } from './audit-server.js';
import { CutScheduler } from './cut-scheduler.js';
import { Resources } from './resources.js';
import { range, SequenceAuditor } from './sequence-auditor.js';

const CLIENTS = 20;
const MESSAGES = 1_000;
/** Messages sent between two checks of the cut pacing. */
const CHUNK = 20;
/** The senders wait for the cuts to keep up, so about this many land while messages flow. */
const TARGET_CUTS = 130;
const MIN_CUTS = 100;

const resources = new Resources();
afterEach(() => resources.closeAll());

function numbered(data: Json): { c: number; n: number } | undefined {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return undefined;
  const { c, n } = data as Record<string, Json>;
  return typeof c === 'number' && typeof n === 'number' ? { c, n } : undefined;
}

describe('audit: client -> server messages through random cuts', () => {
  it(`${CLIENTS} clients x ${MESSAGES} messages: the handler sees each exactly once, in order per client`, async () => {
    const server = resources.add(await startAuditServer(), (s) => s.close());
    const proxies = await startProxies(server.port, CLIENTS);
    for (const proxy of proxies) {
      resources.add(proxy, (p) => p.close());
      // A little latency keeps messages and acks in flight, so cuts land between them.
      proxy.setLatency(1, 4);
    }

    const clients: AuditClient[] = [];
    const auditor = new SequenceAuditor((stream) => {
      const client = clients[Number(stream.slice('client-'.length))];
      return client === undefined ? '' : client.describe();
    });
    const strays: string[] = [];
    // Like a real handler, some messages wait for I/O: a cut then lands while a message
    // of the old connection is still being handled, and its resends must wait their turn.
    server.endpoint.onMessage(async (data, { connection }) => {
      const item = numbered(data);
      if (item === undefined) {
        strays.push(`${connection.id}: ${JSON.stringify(data)}`);
        return;
      }
      auditor.record(`client-${item.c}`, item.n);
      if (item.n % 10 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    });

    for (let c = 0; c < CLIENTS; c += 1) {
      auditor.declare(`client-${c}`);
      const proxy = proxies[c] as (typeof proxies)[number];
      clients.push(
        resources.add(new AuditClient(`client-${c}`, urlVia(proxy)), (client) => client.close()),
      );
    }
    await withTimeout(
      Promise.all(clients.map((c) => c.connected())),
      15_000,
      'all clients connected',
    );

    const cuts = new CutScheduler(proxies, { minDelayMs: 5, maxDelayMs: 60 });
    resources.add(cuts, (s) => s.stop());
    cuts.start();

    const sendAll = async (client: AuditClient, c: number): Promise<void> => {
      const acked: Promise<void>[] = [];
      for (let n = 1; n <= MESSAGES; n += 1) {
        acked.push(client.client.send({ c, n }));
        if (n % CHUNK === 0) await cuts.waitForCuts(Math.floor((TARGET_CUTS * n) / MESSAGES));
      }
      await Promise.all(acked);
    };
    const senders = clients.map((client, c) => sendAll(client, c));
    try {
      await withTimeout(Promise.all(senders), 90_000, 'every message acknowledged');
    } finally {
      cuts.stop();
    }

    const context = clients.filter((c) => c.sessionLosses.length > 0).map((c) => c.describe());
    expect(strays).toEqual([]);
    expect(auditor.problems(range(1, MESSAGES))).toEqual([]);
    expect(context, 'no session may be lost (resumed: false) within the window').toEqual([]);
    const closes = summarize(clients.flatMap((c) => c.closes));
    expect(cuts.cuts, `close codes seen: ${closes}`).toBeGreaterThanOrEqual(MIN_CUTS);
    const stats = server.endpoint.stats();
    expect(stats.resumes.failed).toEqual({ unknown: 0, expired: 0, gap: 0, invalid: 0 });
    expect(stats.resumes.ok).toBeGreaterThan(0);
  }, 90_000);
});
