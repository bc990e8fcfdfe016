/**
 * Acceptance audit 1 ("lose nothing", topics): 50 clients subscribed to one topic
 * receive 10,000 publications while their connections are cut at random (at least 200
 * cuts, each killing one client's connection); every client must end with exactly
 * 1..10,000: no gap, no duplicate, no reorder, and no gap signal (the history covers
 * every outage, so a `recovered: false` would be a bug too).
 */
import { waitFor, withTimeout } from '@tether/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { createStore } from '../../src/store/index.js';
import { AuditClient, summarize } from './audit-client.js';
import { startAuditServer, startProxies, urlVia } from './audit-server.js';
import { CutScheduler } from './cut-scheduler.js';
import { Resources } from './resources.js';
import { range, SequenceAuditor } from './sequence-auditor.js';

const CLIENTS = 50;
const PUBLICATIONS = 10_000;
const TOPIC = 'audit.fanout';
/** Publications issued between two checks of the cut pacing. */
const CHUNK = 25;
/** The publisher waits for the cuts to keep up, so about this many land while it publishes. */
const TARGET_CUTS = 240;
const MIN_CUTS = 200;
/**
 * Subscribers that join while publications flow, from position 0 of the epoch: their
 * replay races live publications, and they must still get exactly 1..N.
 */
const LATE = 10;

const resources = new Resources();
afterEach(() => resources.closeAll());

describe('audit: topic fan-out through random cuts', () => {
  it(`${CLIENTS} subscribers (${LATE} joining mid-stream) x ${PUBLICATIONS} publications with >= ${MIN_CUTS} cuts: each gets exactly 1..${PUBLICATIONS}`, async () => {
    // History longer than the whole run: every reconnect must be recoverable.
    const store = resources.add(
      createStore({ kind: 'memory', historyMaxCount: PUBLICATIONS * 2 }),
      (s) => s.close(),
    );
    const server = resources.add(await startAuditServer({}, { store }), (s) => s.close());
    const proxies = await startProxies(server.port, CLIENTS);
    for (const proxy of proxies) resources.add(proxy, (p) => p.close());

    const clients: AuditClient[] = [];
    const auditor = new SequenceAuditor((stream) => {
      const client = clients.find((c) => c.name === stream);
      return client === undefined ? '' : client.describe();
    });
    for (let i = 0; i < CLIENTS; i += 1) {
      const name = `client-${i}`;
      auditor.declare(name);
      const client = new AuditClient(name, urlVia(proxies[i] as (typeof proxies)[number]));
      clients.push(resources.add(client, (c) => c.close()));
    }
    const early = clients.slice(0, CLIENTS - LATE);
    const late = clients.slice(CLIENTS - LATE);
    await withTimeout(
      Promise.all(early.map((c) => c.follow(TOPIC, (n) => auditor.record(c.name, n)))),
      20_000,
      'every early client subscribed',
    );
    let lateSubscribed: Promise<unknown> | undefined;

    const cuts = new CutScheduler(proxies, { minDelayMs: 2, maxDelayMs: 50 });
    resources.add(cuts, (s) => s.stop());
    cuts.start();

    const positions: Array<{ epoch: string; offset: number }> = [];
    try {
      for (let n = 1; n <= PUBLICATIONS; n += CHUNK) {
        const last = Math.min(PUBLICATIONS, n + CHUNK - 1);
        const chunk: Promise<{ epoch: string; offset: number }>[] = [];
        for (let k = n; k <= last; k += 1) chunk.push(server.endpoint.publish(TOPIC, { n: k }));
        positions.push(...(await Promise.all(chunk)));
        if (lateSubscribed === undefined && last >= PUBLICATIONS / 4) {
          const from = { epoch: (positions[0] as { epoch: string }).epoch, offset: 0 };
          lateSubscribed = Promise.all(
            late.map((c) => c.follow(TOPIC, (k) => auditor.record(c.name, k), { from })),
          );
        }
        await cuts.waitForCuts(Math.floor((TARGET_CUTS * last) / PUBLICATIONS));
      }
    } finally {
      cuts.stop();
    }

    await withTimeout(lateSubscribed ?? Promise.resolve(), 20_000, 'late clients subscribed');
    // Publications were issued in order: publication n got offset n of one epoch.
    const epochs = new Set(positions.map((p) => p.epoch));
    expect(epochs.size).toBe(1);
    expect(positions.map((p) => p.offset)).toEqual(range(1, PUBLICATIONS));

    // Wait for the stragglers, then audit whatever arrived (a deadline is not the verdict).
    await waitFor(() => auditor.allReached(PUBLICATIONS), {
      timeoutMs: 60_000,
      message: 'every client received every publication',
    }).catch(() => undefined);
    expect(auditor.problems(range(1, PUBLICATIONS))).toEqual([]);
    expect(clients.flatMap((c) => c.strays)).toEqual([]);
    expect(clients.flatMap((c) => c.gaps.map((g) => `${c.name}: ${g.detail}`))).toEqual([]);
    expect(
      clients.filter((c) => c.sessionLosses.length > 0).map((c) => c.describe()),
      'no session may be lost (resumed: false) within the window',
    ).toEqual([]);
    const closes = summarize(clients.flatMap((c) => c.closes));
    expect(cuts.cuts, `close codes seen: ${closes}`).toBeGreaterThanOrEqual(MIN_CUTS);
    // The cuts really made clients resume and catch up from the history.
    const stats = server.endpoint.stats();
    expect(stats.resumes.failed).toEqual({ unknown: 0, expired: 0, gap: 0, invalid: 0 });
    expect(stats.resumes.ok).toBeGreaterThan(0);
    expect(stats.delivery.publicationsReplayed).toBeGreaterThan(0);
  }, 120_000);
});
