import { createFaultProxy } from '@tether/testkit';
import { describe, expect, it } from 'vitest';
import type { CloseEvent } from '../src/index.js';
import { TokenBucket } from '../src/rate-limiter.js';
import { HOST, RawClient, serverPerTest, type startTether, until } from './helpers.js';

const server = serverPerTest();
const setup = (options: Parameters<typeof startTether>[0] = {}) => server.start(options);
const client = async (url: string) => server.keep(await RawClient.connect(url));

describe('message size', () => {
  it('closes an oversize message with 1009 and a reason, after a TOO_BIG error and goodbye', async () => {
    const { url, endpoint } = await setup({ maxMessageBytes: 1024 });
    const closes: CloseEvent[] = [];
    endpoint.on('close', (e) => closes.push(e));
    const c = await client(url);
    c.sendJson({ t: 'msg', data: 'x'.repeat(2000) });
    const closed = await c.waitClosed();
    expect(closed).toEqual({ code: 1009, reason: 'message too big (limit 1024 bytes)' });
    const tail = c.frames.slice(-2);
    expect(tail[0]).toMatchObject({ t: 'error', code: 'TOO_BIG' });
    expect(tail[1]).toMatchObject({ t: 'goodbye', code: 1009 });
    await until(() => closes.length === 1, 'close event');
    expect(closes[0]).toMatchObject({ code: 1009, initiatedBy: 'server' });
  });

  it('accepts a message right at the limit', async () => {
    const { url, endpoint } = await setup({ maxMessageBytes: 1024 });
    endpoint.handle('len', (data) => (data as string).length);
    const c = await client(url);
    const overhead = JSON.stringify({ t: 'req', id: 1, method: 'len', data: '' }).length;
    const reply = await c.request('len', 'y'.repeat(1024 - overhead), 1);
    expect(reply).toMatchObject({ ok: true, data: 1024 - overhead });
  });

  it('closes invalid UTF-8 text with 1007 and a reason', async () => {
    const { url } = await setup();
    const c = await client(url);
    c.sendRaw(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), false);
    expect(await c.waitClosed()).toEqual({ code: 1007, reason: 'invalid UTF-8 in a text message' });
  });
});

describe('rate limit', () => {
  it('token bucket: drops over the rate, forgives a client that backs off, closes one that does not', () => {
    const bucket = new TokenBucket(10, 5, 3, 0);
    for (let i = 0; i < 5; i += 1) expect(bucket.take(0)).toBe('ok');
    expect(bucket.take(0)).toBe('drop');
    expect(bucket.take(0)).toBe('drop');
    // 500 ms refills the whole bucket (10/s, burst 5): the client backed off, drops forgiven.
    expect(bucket.take(500)).toBe('ok');
    expect(bucket.dropped).toBe(0);
    for (let i = 0; i < 4; i += 1) expect(bucket.take(500)).toBe('ok');
    expect(bucket.take(500)).toBe('drop');
    expect(bucket.take(500)).toBe('drop');
    expect(bucket.take(500)).toBe('close');
    expect(bucket.refillMs).toBe(500);
  });

  it('answers RATE_LIMITED and drops, then closes 1008 with goodbye and a retry hint if abuse goes on', async () => {
    // Burst 6: hello takes one token, five messages the rest; one token a second refills slowly.
    const { url, endpoint } = await setup({
      rateLimit: { perSecond: 1, burst: 6, dropsBeforeClose: 4 },
    });
    const handled: unknown[] = [];
    endpoint.onMessage((data) => {
      handled.push(data);
    });
    const c = await client(url);
    c.sendJson(Array.from({ length: 7 }, (_, n) => ({ t: 'msg', data: n })));
    const first = await c.next((f) => f.t === 'error');
    expect(first).toMatchObject({ code: 'RATE_LIMITED', ref: { t: 'msg' } });
    await c.next((f) => f.t === 'error' && f.code === 'RATE_LIMITED');
    expect(handled).toEqual([0, 1, 2, 3, 4]);
    expect(c.ws.readyState).toBe(c.ws.OPEN);
    c.sendJson({ t: 'msg', data: 'more' });
    c.sendJson({ t: 'msg', data: 'even more' });
    const closed = await c.waitClosed();
    expect(closed).toEqual({ code: 1008, reason: 'rate limit exceeded repeatedly' });
    const goodbye = c.frames.find((f) => f.t === 'goodbye');
    expect(goodbye).toMatchObject({ code: 1008, retryAfter: 6000 });
    expect(endpoint.stats().rateLimited).toBe(4);
  });

  it('can be turned off', async () => {
    const { url, endpoint } = await setup({ rateLimit: false });
    let n = 0;
    endpoint.onMessage(() => {
      n += 1;
    });
    const c = await client(url);
    expect(c.frames[0]).toMatchObject({ limits: { rate: Number.MAX_SAFE_INTEGER } });
    c.sendJson(Array.from({ length: 1000 }, (_, i) => ({ t: 'msg', seq: i + 1, data: i })));
    await c.next((f) => f.t === 'ack' && f.seq === 1000);
    expect(n).toBe(1000);
  });
});

describe('slow consumer', () => {
  it('closes a client whose unsent data passes slowConsumerBytes with 4009', async () => {
    const { port, endpoint, tether } = await setup({
      slowConsumerBytes: 64 * 1024,
      closeGraceMs: 200,
    });
    const proxy = server.proxy(
      await createFaultProxy({ target: { host: HOST, port }, highWaterMark: 16 * 1024 }),
    );
    const closes: CloseEvent[] = [];
    endpoint.on('close', (e) => closes.push(e));
    const c = await client(`ws://${HOST}:${proxy.port}/ws`);
    c.sendJson({ t: 'sub', topic: 'firehose' });
    await c.next((f) => f.t === 'subscribed');
    proxy.pause(); // the client stops reading: kernel buffers fill, then ws buffers
    const chunk = 'z'.repeat(32 * 1024);
    // Bounded: at most 1000 × 32 KiB, a few publications per tick.
    for (
      let i = 0;
      i < 1000 && closes.length === 0 && endpoint.stats().slowConsumers === 0;
      i += 1
    ) {
      tether.publish('firehose', chunk);
      if (i % 8 === 7) await new Promise((resolve) => setImmediate(resolve));
    }
    expect(endpoint.stats().slowConsumers).toBe(1);
    await until(() => closes.length === 1, 'slow consumer closed', 5000);
    expect(closes[0]).toMatchObject({ code: 4009, initiatedBy: 'server' });
    // Its subscription is gone: publications no longer queue for it.
    expect((await tether.publish('firehose', 'after')).delivered).toBe(0);
  });
});
