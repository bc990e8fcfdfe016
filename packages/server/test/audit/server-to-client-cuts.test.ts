/**
 * Acceptance audit ("lose nothing", server -> client direct messages): the server sends
 * 1,000 numbered messages to each of 20 sessions (`endpoint.sendTo`) while the clients'
 * connections are cut at random; each client must receive exactly 1..1,000, in order,
 * in the one session it started with (every cut ends in a resume and a replay).
 */
import { waitFor, withTimeout } from '@tether/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { AuditClient, numberOf, summarize } from './audit-client.js';
import { startAuditServer, startProxies, urlVia } from './audit-server.js';
import { CutScheduler } from './cut-scheduler.js';
import { Resources } from './resources.js';
import { range, SequenceAuditor } from './sequence-auditor.js';

const CLIENTS = 20;
const MESSAGES = 1_000;
const CHUNK = 20;
const TARGET_CUTS = 130;
const MIN_CUTS = 100;

const resources = new Resources();
afterEach(() => resources.closeAll());

describe('audit: server -> client direct messages through random cuts', () => {
  it(`${CLIENTS} sessions x ${MESSAGES} messages: each client gets exactly 1..${MESSAGES}`, async () => {
    const server = resources.add(await startAuditServer(), (s) => s.close());
    const proxies = await startProxies(server.port, CLIENTS);
    for (const proxy of proxies) {
      resources.add(proxy, (p) => p.close());
      proxy.setLatency(1, 4);
    }
    const clients: AuditClient[] = [];
    const auditor = new SequenceAuditor((stream) => {
      const client = clients.find((c) => c.name === stream);
      return client === undefined ? '' : client.describe();
    });
    const strays: string[] = [];
    for (let i = 0; i < CLIENTS; i += 1) {
      const name = `client-${i}`;
      auditor.declare(name);
      const client = new AuditClient(name, urlVia(proxies[i] as (typeof proxies)[number]));
      client.client.on('message', ({ data }) => {
        const n = numberOf(data);
        if (n === undefined) strays.push(`${name}: ${JSON.stringify(data)}`);
        else auditor.record(name, n);
      });
      clients.push(resources.add(client, (c) => c.close()));
    }
    await withTimeout(
      Promise.all(clients.map((c) => c.connected())),
      15_000,
      'all clients connected',
    );
    const sessions = clients.map((c) => c.client.sessionId as string);

    const cuts = new CutScheduler(proxies, { minDelayMs: 5, maxDelayMs: 60 });
    resources.add(cuts, (s) => s.stop());
    cuts.start();
    const sendAll = async (sessionId: string): Promise<void> => {
      for (let n = 1; n <= MESSAGES; n += 1) {
        const { seq } = await server.endpoint.sendTo(sessionId, { n });
        if (seq !== n) throw new Error(`message ${n} to ${sessionId} got seq ${seq}`);
        if (n % CHUNK === 0) await cuts.waitForCuts(Math.floor((TARGET_CUTS * n) / MESSAGES));
      }
    };
    try {
      await withTimeout(Promise.all(sessions.map(sendAll)), 60_000, 'every message stored');
    } finally {
      cuts.stop();
    }

    await waitFor(() => auditor.allReached(MESSAGES), {
      timeoutMs: 30_000,
      message: 'every client received every message',
    }).catch(() => undefined);
    expect(strays).toEqual([]);
    expect(auditor.problems(range(1, MESSAGES))).toEqual([]);
    expect(
      clients.filter((c) => c.sessionLosses.length > 0).map((c) => c.describe()),
      'no session may be lost (resumed: false) within the window',
    ).toEqual([]);
    expect(clients.map((c) => c.client.sessionId)).toEqual(sessions);
    const closes = summarize(clients.flatMap((c) => c.closes));
    expect(cuts.cuts, `close codes seen: ${closes}`).toBeGreaterThanOrEqual(MIN_CUTS);
    const stats = server.endpoint.stats();
    expect(stats.resumes.failed).toEqual({ unknown: 0, expired: 0, gap: 0, invalid: 0 });
    expect(stats.delivery.messagesReplayed, 'cuts made sessions replay').toBeGreaterThan(0);
  }, 90_000);
});
