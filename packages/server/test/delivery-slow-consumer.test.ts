/**
 * Backpressure: a subscriber that stops reading (its link stalled by the fault proxy,
 * so the server's socket buffers fill) is closed with 4009 once the server would hold
 * more than `slowConsumerBytes` for it; the memory held for it never exceeds the limit
 * plus one message; and it loses nothing: it resumes, resubscribes from its position
 * and gets every publication.
 */
import { createFaultProxy } from '@tether/testkit';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { SlowConsumerEvent, TetherConnection } from '../src/index.js';
import { createStore } from '../src/store/index.js';
import { hello, lastSeq, offsets, range, resumeOf } from './delivery-helpers.js';
import { HOST, serverPerTest, until } from './helpers.js';

const LIMIT = 64 * 1024;
const PAD = 'x'.repeat(1_000);
/** Bound of the publish loop while waiting for the server to act (about 10 MB). */
const MAX_PUBLICATIONS = 10_000;
const CHUNK = 50;

const server = serverPerTest();

describe('slow consumer', () => {
  it('closes a stalled subscriber with 4009 within limit + one message, and it catches up by resume', async () => {
    const store = createStore({ kind: 'memory', historyMaxCount: MAX_PUBLICATIONS + 1_000 });
    // Runs after the afterEach that closes the server.
    onTestFinished(() => store.close());
    const started = await server.start({ slowConsumerBytes: LIMIT, closeGraceMs: 200 }, { store });
    const { tether, endpoint, port, url } = started;
    const proxy = server.proxy(
      await createFaultProxy({ target: { host: HOST, port }, highWaterMark: 16 * 1024 }),
    );
    const slow: SlowConsumerEvent[] = [];
    endpoint.on('slowConsumer', (e) => slow.push(e));

    const first = await hello(`ws://${HOST}:${proxy.port}/ws`);
    server.keep(first.c);
    first.c.sendJson({ t: 'sub', topic: 'firehose' });
    await first.c.next((f) => f.t === 'subscribed');
    // A reliable direct message too: it must survive the 4009 as well.
    await endpoint.sendTo(first.welcome.sid as string, 'direct');
    let published = 0;
    const publish = async (count: number): Promise<void> => {
      const chunk: Promise<unknown>[] = [];
      for (let i = 0; i < count; i += 1) {
        published += 1;
        chunk.push(tether.publish('firehose', { n: published, pad: PAD }));
      }
      await Promise.all(chunk);
      // A publisher that lets the event loop run: what piles up is what the client does
      // not read, not a burst the kernel would take at the end of this turn.
      await new Promise((resolve) => setImmediate(resolve));
    };
    await publish(10);
    await until(() => offsets(first.c, 'firehose').length === 10, 'first publications');

    const [connection] = [...endpoint.connections.values()] as TetherConnection[];
    if (connection === undefined) throw new Error('no server connection');
    let peak = 0;
    let sampling = true;
    const sample = (): void => {
      if (!sampling) return;
      peak = Math.max(peak, connection.info().bufferedBytes);
      setImmediate(sample);
    };
    sample();
    const oneMessage = Buffer.byteLength(
      JSON.stringify({
        t: 'pub',
        topic: 'firehose',
        epoch: 'e'.repeat(16),
        offset: MAX_PUBLICATIONS * 10,
        data: { n: MAX_PUBLICATIONS * 10, pad: PAD },
        time: Date.now(),
      }),
    );

    proxy.pause();
    while (endpoint.stats().slowConsumers === 0 && published < MAX_PUBLICATIONS) {
      await publish(CHUNK);
    }
    const atClose = published;
    // Publications after the close are not queued for the closing connection.
    await publish(200);
    sampling = false;
    expect(endpoint.stats().slowConsumers).toBe(1);
    expect(slow).toHaveLength(1);
    expect(slow[0]?.bytes).toBeGreaterThan(LIMIT);
    expect(peak, `peak held bytes, limit ${LIMIT}`).toBeLessThanOrEqual(LIMIT + oneMessage);
    expect(peak).toBeGreaterThan(LIMIT / 2);

    proxy.resume();
    const closed = await first.c.waitClosed();
    expect(closed.code).toBe(4009);
    expect(first.c.frames.find((f) => f.t === 'goodbye')).toMatchObject({ code: 4009 });
    const got = offsets(first.c, 'firehose');
    expect(got).toEqual(range(1, got.length));
    expect(got.length).toBeLessThan(atClose);

    // It comes back: resumes its session and resubscribes from its last position.
    const sub = first.c.frames.find((f) => f.t === 'subscribed');
    const back = await hello(url, resumeOf(first.welcome, lastSeq(first.c)));
    server.keep(back.c);
    expect(back.welcome.resumed).toBe(true);
    back.c.sendJson({
      t: 'sub',
      topic: 'firehose',
      from: { epoch: sub?.epoch, offset: got[got.length - 1] ?? 0 },
    });
    expect(await back.c.next((f) => f.t === 'subscribed')).toMatchObject({ recovered: true });
    await until(
      () => offsets(back.c, 'firehose').length + got.length === published,
      'caught up',
      20_000,
    );
    expect([...got, ...offsets(back.c, 'firehose')]).toEqual(range(1, published));
    const direct = [...first.c.frames, ...back.c.frames].filter((f) => f.t === 'msg');
    expect(direct.map((f) => f.data)).toContain('direct');
  });
});
