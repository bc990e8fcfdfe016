/**
 * Issue 11 end to end, real client against the real server: a message nobody handles (or
 * one the application refuses) rejects its `send()` and never blocks the session; a
 * reliable publish is committed once through connection cuts, and a resend after a lost
 * answer resolves with the one position the publication got.
 */

import type { Position } from '@tether/protocol';
import { ReplyError } from '@tether/server';
import { createFaultProxy, type FaultProxy, waitFor } from '@tether/testkit';
import { describe, expect, it } from 'vitest';
import type { PubEvent } from '../src/index.js';
import { HOST, type RunningServer } from './helpers/real-server.js';
import { useRealSetup } from './helpers/real-setup.js';

const { client, defer, server } = useRealSetup(
  { minReconnectDelayMs: 20, maxReconnectDelayMs: 100, breakerThreshold: 0 },
  500,
);

const range = (from: number, to: number): number[] =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

async function proxyTo(s: RunningServer): Promise<FaultProxy & { url: string }> {
  const proxy = await createFaultProxy({ target: { host: HOST, port: s.port } });
  defer(() => proxy.close());
  return Object.assign(proxy, { url: `ws://${HOST}:${proxy.port}/ws` });
}

/** Collects the live publications of `topic` on a client that is never cut. */
async function observe(url: string, topic: string): Promise<PubEvent[]> {
  const o = client(url);
  const seen: PubEvent[] = [];
  o.on('pub', (e) => {
    if (e.topic === topic) seen.push(e);
  });
  await o.connect();
  await o.subscribe(topic).ready;
  return seen;
}

describe('final answers to reliable messages', () => {
  it('a message nobody handles rejects send() with NO_HANDLER, and the session goes on', async () => {
    const s = await server();
    const c = client(s.url);
    await c.connect();
    // A reliable request queued right behind it: it used to get only a timeout.
    const refused = c.send({ text: 'hello' });
    const answered = c.request('echo', 'after', { reliable: true, timeoutMs: 5_000 });
    await expect(refused).rejects.toMatchObject({
      name: 'ServerError',
      code: 'NO_HANDLER',
      final: true,
      retryable: false,
    });
    await expect(answered).resolves.toBe('after');
    await waitFor(() => c.stats().queued === 0, { timeoutMs: 5_000, message: 'outbox empty' });
    const seen: unknown[] = [];
    s.endpoint.onMessage((data) => {
      seen.push(data);
    });
    await c.send('handled');
    expect(seen).toEqual(['handled']);
  });

  it('a ReplyError rejects send() with its code, message and details; other throws are retried', async () => {
    const s = await server();
    let flaky = 0;
    const seen: unknown[] = [];
    s.endpoint.onMessage((data) => {
      if (data === 'bad')
        throw new ReplyError('REJECTED', 'backend said 422', { details: { status: 422 } });
      if (data === 'flaky') {
        flaky += 1;
        if (flaky === 1) throw new Error('try again');
      }
      seen.push(data);
    });
    const c = client(s.url, { ackTimeoutMs: 200 });
    await c.connect();
    const bad = c.send('bad');
    const flakyDone = c.send('flaky');
    const last = c.send('last');
    await expect(bad).rejects.toMatchObject({
      code: 'REJECTED',
      message: 'backend said 422',
      details: { status: 422 },
    });
    await flakyDone;
    await last;
    expect(seen).toEqual(['flaky', 'last']);
    expect(flaky).toBe(2);
  });
});

describe('reliable publish', () => {
  it('resolves once with the one position when the answer is lost with the connection', async () => {
    let proxy: (FaultProxy & { url: string }) | undefined;
    let cuts = 0;
    const s = await server({
      authorizePublish: () => {
        // Cut the link while the publication is on its way to the store: its answer and
        // its ack go nowhere, and the client resends it on the next connection.
        if (cuts === 0) cuts += proxy?.resetAll() ?? 0;
        return true;
      },
    });
    proxy = await proxyTo(s);
    const seen = await observe(s.url, 'dev/7');
    const c = client(proxy.url);
    await c.connect();
    const got = await c.publish('dev/7', { n: 1 }, { reliable: true });
    expect(cuts).toBe(1);
    expect(c.stats().connects).toBe(2);
    expect(got).toEqual({ epoch: seen[0]?.epoch, offset: 1 });
    await expect(c.publish('dev/7', { n: 2 }, { reliable: true })).resolves.toMatchObject({
      offset: 2,
    });
    expect(seen.map((e) => e.data)).toEqual([{ n: 1 }, { n: 2 }]);
  });

  it("one publisher's numbered stream survives 20 cuts: every number once, in order, distinct offsets", async () => {
    let proxy: (FaultProxy & { url: string }) | undefined;
    let nextCut = 10;
    let cuts = 0;
    const s = await server({
      // While the publisher is connected, a publication every 20 or more cuts the link as
      // it is being processed: its answer and ack (and those of the frames behind it) are
      // lost, and the client must resend. Frames the server still works through while the
      // client is away cut nothing (there is no link).
      authorizePublish: ({ data }) => {
        const n = (data as { n: number }).n;
        if (cuts < 20 && n >= nextCut && (proxy?.resetAll() ?? 0) > 0) {
          cuts += 1;
          nextCut = n + 20;
        }
        return true;
      },
    });
    proxy = await proxyTo(s);
    const topic = 'telemetry/dev-1';
    const seen = await observe(s.url, topic);
    const c = client(proxy.url);
    await c.connect();
    // 20 rounds of 40 publications, each round in flight at once, the next after it.
    const total = 800;
    const positions: Position[] = [];
    for (let round = 0; round < 20; round += 1) {
      const results: Array<Promise<Position>> = [];
      for (let n = round * 40 + 1; n <= (round + 1) * 40; n += 1) {
        results.push(c.publish(topic, { n }, { reliable: true, timeoutMs: 60_000 }));
      }
      positions.push(...(await Promise.all(results)));
    }
    expect(cuts).toBe(20);
    await waitFor(() => seen.length >= total, { timeoutMs: 10_000, message: 'observer saw all' });
    // The topic holds each number exactly once, in order, at contiguous offsets.
    expect(seen.map((e) => (e.data as { n: number }).n)).toEqual(range(1, total));
    expect(seen.map((e) => e.offset)).toEqual(range(1, total));
    // Each promise resolved with the offset its publication got: no duplicate offsets.
    expect(positions.map((p) => p.offset)).toEqual(range(1, total));
    expect(c.stats().queued).toBe(0);
    // Each cut lost at least one answer: the resends were answered, never published again.
    expect(s.endpoint.stats().duplicates).toBeGreaterThanOrEqual(20);
  });

  it('is refused for good where publishing is not allowed, and later frames flow', async () => {
    const s = await server({ authorizePublish: ({ topic }) => topic !== 'closed' });
    const c = client(s.url);
    await c.connect();
    const refused = c.publish('closed', 1, { reliable: true });
    const sent = c.request('echo', 'next', { reliable: true });
    await expect(refused).rejects.toMatchObject({ code: 'FORBIDDEN', final: true });
    await expect(sent).resolves.toBe('next');
  });
});
