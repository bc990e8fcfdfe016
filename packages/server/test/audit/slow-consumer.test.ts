/**
 * Acceptance audit 5 (bounded memory, nothing lost): a subscriber that stops reading
 * (its link stalled by the fault proxy, so the server's socket buffers fill up) must not
 * make the server hold more than the configured bound for it: the connection's buffered
 * bytes (socket buffer plus the server's own queue) never exceed the limit plus one
 * message. The server drops it as a slow consumer (4009), and once the link reads again
 * the client resumes and catches up with the full sequence.
 */
import { createFaultProxy, waitFor, withTimeout } from '@tether/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import type { TetherConnection } from '../../src/index.js';
import { createStore } from '../../src/store/index.js';
import { AuditClient, numberOf } from './audit-client.js';
import { HOST, startAuditServer, urlVia } from './audit-server.js';
import { Resources } from './resources.js';
import { range, SequenceAuditor } from './sequence-auditor.js';
import { bufferedBytes } from './server-probe.js';

const TOPIC = 'audit.slow';
/** The slow-consumer limit under test (small, so the audit stays fast). */
const LIMIT = 64 * 1024;
const PAD = 'x'.repeat(1_000);
/** Bound on publications while waiting for the server to act (about 20 MB). */
const MAX_PUBLICATIONS = 20_000;
/** Publications after the slow-consumer close, which must not be queued for the dead connection. */
const AFTER_CLOSE = 500;
const CHUNK = 50;

const resources = new Resources();
afterEach(() => resources.closeAll());

describe('audit: slow consumer', () => {
  it('memory for a stalled subscriber stays under the limit + one message; it catches up afterwards', async () => {
    const store = resources.add(
      createStore({ kind: 'memory', historyMaxCount: MAX_PUBLICATIONS + AFTER_CLOSE + 100 }),
      (s) => s.close(),
    );
    const server = resources.add(
      await startAuditServer({ slowConsumerBytes: LIMIT }, { store }),
      (s) => s.close(),
    );
    // A small proxy buffer, so the stall reaches the server's socket quickly.
    const proxy = resources.add(
      await createFaultProxy({ target: { host: HOST, port: server.port }, highWaterMark: 16_384 }),
      (p) => p.close(),
    );
    const auditor = new SequenceAuditor();
    const client = resources.add(new AuditClient('client', urlVia(proxy)), (c) => c.close());
    await withTimeout(
      client.follow(TOPIC, (n) => auditor.record('client', n)),
      5_000,
      'subscribed',
    );
    let published = 0;
    const publish = async (count: number): Promise<void> => {
      const chunk: Promise<unknown>[] = [];
      for (let i = 0; i < count; i += 1) {
        published += 1;
        chunk.push(server.endpoint.publish(TOPIC, { n: published, pad: PAD }));
      }
      await Promise.all(chunk);
      // Let the server flush (a memory store answers in microtasks): the stall must show
      // in the socket's buffer, not only in the queue of one event-loop turn.
      await new Promise((resolve) => setImmediate(resolve));
    };
    await publish(10);
    await waitFor(() => auditor.count('client') === 10, { message: 'first publications' });

    const oneMessage = Buffer.byteLength(
      JSON.stringify({
        t: 'pub',
        topic: TOPIC,
        epoch: 'e'.repeat(64),
        offset: MAX_PUBLICATIONS * 10,
        data: { n: MAX_PUBLICATIONS * 10, pad: PAD },
        time: Date.now(),
      }),
    );

    // After every event-loop turn, the most any connection holds: while the client stalls,
    // and later while its resumed connection replays what it missed.
    const peaks = { stalled: 0, catchUp: 0 };
    let phase: keyof typeof peaks | undefined = 'stalled';
    let samples = 0;
    const sample = (): void => {
      if (phase === undefined) return;
      for (const connection of server.endpoint.connections.values()) {
        peaks[phase] = Math.max(peaks[phase], bufferedBytes(connection as TetherConnection));
      }
      samples += 1;
      setImmediate(sample);
    };
    sample();
    resources.add(null, () => {
      phase = undefined;
    });

    proxy.pause();
    const slowBefore = server.endpoint.stats().slowConsumers;
    while (server.endpoint.stats().slowConsumers === slowBefore && published < MAX_PUBLICATIONS) {
      await publish(CHUNK);
    }
    expect(server.endpoint.stats().slowConsumers, 'the stalled client was dropped').toBe(
      slowBefore + 1,
    );
    const atClose = published;
    await publish(AFTER_CLOSE);
    expect(samples).toBeGreaterThan(10);
    expect(proxy.held.bytes, 'the proxy really held data back').toBeGreaterThan(0);

    phase = 'catchUp';
    proxy.resume();
    await waitFor(() => auditor.count('client') >= published, {
      timeoutMs: 30_000,
      message: `caught up to ${published} (closed as slow at ${atClose})`,
    }).catch(() => undefined);
    phase = undefined;

    const bound = LIMIT + oneMessage;
    expect(peaks.stalled, `bytes held while stalled (limit ${LIMIT})`).toBeLessThanOrEqual(bound);
    expect(peaks.catchUp, `bytes held while catching up (limit ${LIMIT})`).toBeLessThanOrEqual(
      bound,
    );
    expect(auditor.problems(range(1, published))).toEqual([]);
    expect(client.closes).toContain(4009);
    expect(client.gaps).toEqual([]);
    expect(client.sessionLosses).toEqual([]);
    expect(server.endpoint.stats().delivery.publicationsReplayed).toBeGreaterThan(0);
  }, 60_000);

  it('the same for direct messages: bounded while stalled, then the full sequence by resume', async () => {
    const store = resources.add(
      createStore({ kind: 'memory', sessionMaxMessages: 50_000, sessionMaxBytes: 64 << 20 }),
      (s) => s.close(),
    );
    const server = resources.add(
      await startAuditServer({ slowConsumerBytes: LIMIT }, { store }),
      (s) => s.close(),
    );
    const proxy = resources.add(
      await createFaultProxy({ target: { host: HOST, port: server.port }, highWaterMark: 16_384 }),
      (p) => p.close(),
    );
    const auditor = new SequenceAuditor();
    const client = resources.add(new AuditClient('client', urlVia(proxy)), (c) => c.close());
    client.client.on('message', ({ data }) => {
      const n = numberOf(data);
      if (n !== undefined) auditor.record('client', n);
    });
    await withTimeout(client.connected(), 5_000, 'connected');
    const sessionId = client.client.sessionId as string;
    let sent = 0;
    const send = async (count: number): Promise<void> => {
      const chunk: Promise<unknown>[] = [];
      for (let i = 0; i < count; i += 1) {
        sent += 1;
        chunk.push(server.endpoint.sendTo(sessionId, { n: sent, pad: PAD }));
      }
      await Promise.all(chunk);
      await new Promise((resolve) => setImmediate(resolve));
    };
    const oneMessage = Buffer.byteLength(
      JSON.stringify({
        t: 'msg',
        seq: MAX_PUBLICATIONS * 10,
        data: { n: MAX_PUBLICATIONS * 10, pad: PAD },
      }),
    );
    let peak = 0;
    let sampling = true;
    const sample = (): void => {
      if (!sampling) return;
      for (const connection of server.endpoint.connections.values()) {
        peak = Math.max(peak, bufferedBytes(connection as TetherConnection));
      }
      setImmediate(sample);
    };
    sample();
    resources.add(null, () => {
      sampling = false;
    });

    proxy.pause();
    const slowBefore = server.endpoint.stats().slowConsumers;
    while (server.endpoint.stats().slowConsumers === slowBefore && sent < MAX_PUBLICATIONS) {
      await send(CHUNK);
    }
    expect(server.endpoint.stats().slowConsumers, 'the stalled client was dropped').toBe(
      slowBefore + 1,
    );
    await send(AFTER_CLOSE);
    proxy.resume();
    await waitFor(() => auditor.count('client') >= sent, {
      timeoutMs: 30_000,
      message: `caught up to ${sent}`,
    }).catch(() => undefined);
    sampling = false;

    expect(peak, `bytes held (limit ${LIMIT})`).toBeLessThanOrEqual(LIMIT + oneMessage);
    expect(auditor.problems(range(1, sent))).toEqual([]);
    expect(client.closes).toContain(4009);
    expect(client.sessionLosses).toEqual([]);
    expect(client.client.sessionId).toBe(sessionId);
    expect(server.endpoint.stats().delivery.messagesReplayed).toBeGreaterThan(0);
  }, 60_000);
});
