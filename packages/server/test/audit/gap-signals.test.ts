/**
 * Acceptance audit 4 ("never silently"): when continuity is impossible the application
 * is told. A resume after the session's window expired gives `resumed: false` (reason
 * `expired`) to the application and a new session; a subscription resumed from a
 * position the history no longer covers gives `recovered: false`, and what follows is
 * still ordered and duplicate-free.
 */
import { SUBPROTOCOL } from '@tether/protocol';
import { waitFor, withTimeout } from '@tether/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { createStore } from '../../src/store/index.js';
import { RawClient } from '../helpers.js';
import { AuditClient, numberOf } from './audit-client.js';
import { HOST, PATH, startAuditServer, startProxies, urlVia } from './audit-server.js';
import { Resources } from './resources.js';
import { range, SequenceAuditor } from './sequence-auditor.js';

const resources = new Resources();
afterEach(() => resources.closeAll());

describe('audit: gap signals are explicit', () => {
  it('a resume after the window expired gives resumed: false (expired) and a new session', async () => {
    const WINDOW_MS = 300;
    // No background sweep: the expired session is still known, so the reason is `expired`.
    const store = resources.add(createStore({ kind: 'memory', sweepIntervalMs: 0 }), (s) =>
      s.close(),
    );
    const server = resources.add(
      await startAuditServer({ resumeWindowMs: WINDOW_MS }, { store }),
      (s) => s.close(),
    );
    const [proxy] = await startProxies(server.port, 1);
    if (proxy === undefined) throw new Error('no proxy');
    resources.add(proxy, (p) => p.close());
    const serverSide: Array<{ resumed: boolean; reason: string | undefined }> = [];
    server.endpoint.on('resume', ({ resumed, reason }) => serverSide.push({ resumed, reason }));
    const client = resources.add(new AuditClient('client', urlVia(proxy)), (c) => c.close());
    await withTimeout(client.connected(), 5_000, 'connected');
    const firstSession = client.client.sessionId;

    // Cut, and keep the client out until the window has passed.
    proxy.refuseConnections(true);
    const cutAt = Date.now();
    expect(proxy.resetAll()).toBe(1);
    await waitFor(() => Date.now() - cutAt > WINDOW_MS * 2, { timeoutMs: 5_000 });
    expect(client.opens).toBe(1);
    proxy.refuseConnections(false);

    await waitFor(() => client.opens >= 2, { timeoutMs: 10_000, message: 'reconnected' });
    expect(client.sessionLosses).toEqual([{ reason: 'expired', open: 2 }]);
    expect(client.client.sessionId).toBeDefined();
    expect(client.client.sessionId).not.toBe(firstSession);
    expect(serverSide).toEqual([{ resumed: false, reason: 'expired' }]);
    expect(server.endpoint.stats().resumes.failed.expired).toBe(1);
  });

  it('a resume after the session log overflowed gives resumed: false (gap), never a silent hole', async () => {
    const RETAINED = 5;
    const store = resources.add(
      createStore({ kind: 'memory', sessionMaxMessages: RETAINED, sweepIntervalMs: 0 }),
      (s) => s.close(),
    );
    const server = resources.add(await startAuditServer({}, { store }), (s) => s.close());
    const [proxy] = await startProxies(server.port, 1);
    if (proxy === undefined) throw new Error('no proxy');
    resources.add(proxy, (p) => p.close());
    const auditor = new SequenceAuditor();
    const client = resources.add(new AuditClient('client', urlVia(proxy)), (c) => c.close());
    client.client.on('message', ({ data }) => {
      const n = numberOf(data);
      if (n !== undefined) auditor.record('client', n);
    });
    await withTimeout(client.connected(), 5_000, 'connected');
    const first = client.client.sessionId as string;
    for (let n = 1; n <= 3; n += 1) await server.endpoint.sendTo(first, { n });
    await waitFor(() => auditor.count('client') === 3, { message: 'first 3 received' });

    // While the client is away, 17 more messages: the session log keeps only 5.
    proxy.refuseConnections(true);
    expect(proxy.resetAll()).toBe(1);
    for (let n = 4; n <= 20; n += 1) await server.endpoint.sendTo(first, { n });
    proxy.refuseConnections(false);

    await waitFor(() => client.sessionLosses.length > 0, { timeoutMs: 10_000, message: 'told' });
    expect(client.sessionLosses).toEqual([{ reason: 'gap', open: 2 }]);
    const second = client.client.sessionId as string;
    expect(second).not.toBe(first);
    for (let n = 21; n <= 25; n += 1) await server.endpoint.sendTo(second, { n });
    await waitFor(() => auditor.last('client') === 25, { message: 'new session messages' });
    // Nothing of the lost stretch leaks into the new session; the rest is in order.
    expect(auditor.received('client')).toEqual([1, 2, 3, ...range(21, 25)]);
    expect(server.endpoint.stats().resumes.failed.gap).toBe(1);
  });

  it('a subscription resumed from a trimmed position gives recovered: false, then stays ordered', async () => {
    const TOPIC = 'audit.trimmed';
    const HISTORY = 5;
    const store = resources.add(createStore({ kind: 'memory', historyMaxCount: HISTORY }), (s) =>
      s.close(),
    );
    const server = resources.add(await startAuditServer({}, { store }), (s) => s.close());
    const [proxy] = await startProxies(server.port, 1);
    if (proxy === undefined) throw new Error('no proxy');
    resources.add(proxy, (p) => p.close());
    const auditor = new SequenceAuditor();
    const client = resources.add(new AuditClient('client', urlVia(proxy)), (c) => c.close());
    await withTimeout(
      client.follow(TOPIC, (n) => auditor.record('client', n)),
      5_000,
      'subscribed',
    );

    for (let n = 1; n <= 3; n += 1) await server.endpoint.publish(TOPIC, { n });
    await waitFor(() => auditor.count('client') === 3, { message: 'first 3 received' });

    // While the client is away, 17 more publications: the history keeps only the last 5.
    proxy.refuseConnections(true);
    expect(proxy.resetAll()).toBe(1);
    for (let n = 4; n <= 20; n += 1) await server.endpoint.publish(TOPIC, { n });
    proxy.refuseConnections(false);

    await waitFor(() => client.gaps.length > 0, { timeoutMs: 10_000, message: 'gap signal' });
    for (let n = 21; n <= 25; n += 1) await server.endpoint.publish(TOPIC, { n });
    await waitFor(() => auditor.last('client') === 25, {
      message: 'live publications after the gap',
    });

    expect(client.gaps).toHaveLength(1);
    expect(client.gaps[0]?.topic).toBe(TOPIC);
    // Before the gap: 1..3. After it: at most what history still had (16..20), then 21..25.
    const received = auditor.received('client');
    expect(received.slice(0, 3)).toEqual([1, 2, 3]);
    const after = received.slice(3);
    const replayed = after.filter((n) => n <= 20);
    expect(range(21 - replayed.length, 20)).toEqual(replayed);
    expect(replayed.length).toBeLessThanOrEqual(HISTORY);
    expect(after.filter((n) => n > 20)).toEqual(range(21, 25));
  });

  it('the wire says recovered: false for a trimmed offset or another epoch, true for a covered one', async () => {
    const TOPIC = 'audit.trimmed.raw';
    const store = resources.add(createStore({ kind: 'memory', historyMaxCount: 5 }), (s) =>
      s.close(),
    );
    const server = resources.add(await startAuditServer({}, { store }), (s) => s.close());
    let epoch = '';
    for (let n = 1; n <= 20; n += 1) epoch = (await server.endpoint.publish(TOPIC, { n })).epoch;

    const raw = await RawClient.connect(`ws://${HOST}:${server.port}${PATH}`, {
      protocols: [SUBPROTOCOL],
    });
    resources.add(raw, (r) => r.close());
    const subscribe = async (from: { epoch: string; offset: number }) => {
      raw.sendJson({ t: 'sub', topic: TOPIC, from });
      const subscribed = await raw.next((f) => f.t === 'subscribed');
      const pubs = [];
      for (let i = 0; i < (subscribed.replay as number); i += 1) {
        pubs.push((await raw.next((f) => f.t === 'pub')).offset);
      }
      raw.sendJson({ t: 'unsub', topic: TOPIC });
      await raw.next((f) => f.t === 'unsubscribed');
      return { recovered: subscribed.recovered, offset: subscribed.offset, pubs };
    };

    const trimmed = await subscribe({ epoch, offset: 3 });
    expect(trimmed.recovered).toBe(false);
    expect(trimmed.offset).toBe(20);
    const otherEpoch = await subscribe({ epoch: `${epoch}-other`, offset: 19 });
    expect(otherEpoch.recovered).toBe(false);
    const covered = await subscribe({ epoch, offset: 17 });
    expect(covered).toEqual({ recovered: true, offset: 20, pubs: [18, 19, 20] });
  });
});
