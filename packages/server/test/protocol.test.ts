import { describe, expect, it } from 'vitest';
import { batches } from '../src/batching.js';
import { type MessageEvent, ReplyError, type TetherConnection } from '../src/index.js';
import { RawClient, serverPerTest, type startTether, until } from './helpers.js';

const server = serverPerTest({ drainTimeoutMs: 1000 });
const setup = (options: Parameters<typeof startTether>[0] = {}) => server.start(options);
const client = async (url: string) => server.keep(await RawClient.connect(url));

describe('hello and welcome', () => {
  it('answers hello with a welcome filled from the options', async () => {
    const { url } = await setup({
      heartbeatIntervalMs: 20_000,
      heartbeatTimeoutMs: 5_000,
      maxMessageBytes: 4096,
    });
    const c = await RawClient.open(url);
    server.keep(c);
    const before = Date.now();
    c.sendJson({ t: 'hello', v: 1, client: { name: 'raw', version: '0' } });
    const welcome = await c.next((f) => f.t === 'welcome');
    expect(welcome).toMatchObject({
      v: 1,
      resumed: false,
      ack: 0,
      hb: { interval: 20_000, timeout: 5_000 },
      limits: { maxMessageBytes: 4096, rate: 100, burst: 200, maxBatch: 1000 },
      resumeWindow: 120_000,
    });
    expect(welcome.reason).toBeUndefined();
    expect(typeof welcome.sid).toBe('string');
    expect(typeof welcome.token).toBe('string');
    expect(typeof welcome.cid).toBe('string');
    expect(welcome.time as number).toBeGreaterThanOrEqual(before - 1000);
  });

  it('gives a new session on every hello and says resumed:false, reason unknown to a resume of an unknown session', async () => {
    const { url, endpoint } = await setup();
    const a = await client(url);
    const first = a.frames.find((f) => f.t === 'welcome');
    const b = await RawClient.open(url);
    server.keep(b);
    b.sendJson({ t: 'hello', v: 1, resume: { sid: 'no-such-session', token: 'x', seq: 0 } });
    const second = await b.next((f) => f.t === 'welcome');
    expect(second.sid).not.toBe(first?.sid);
    expect(second.token).not.toBe(first?.token);
    expect(second).toMatchObject({ resumed: false, reason: 'unknown', ack: 0 });
    const conn = endpoint.connections.get(second.cid as string);
    expect(conn?.sessionId).toBe(second.sid);
  });

  it('emits connection after welcome with the client description', async () => {
    const { url, endpoint } = await setup();
    const seen: TetherConnection[] = [];
    endpoint.on('connection', (c) => seen.push(c));
    const c = await client(url);
    await until(() => seen.length === 1, 'connection event');
    expect(seen[0]?.state).toBe('open');
    expect(seen[0]?.id).toBe(c.frames[0]?.cid);
  });
});

describe('ping and pong', () => {
  it('answers ping with pong echoing ts and carrying rts', async () => {
    const { url } = await setup();
    const c = await client(url);
    const before = Date.now();
    c.sendJson({ t: 'ping', ts: 12345 });
    const pong = await c.next((f) => f.t === 'pong');
    expect(pong.ts).toBe(12345);
    expect(pong.rts as number).toBeGreaterThanOrEqual(before - 1000);
  });
});

describe('messages', () => {
  it('emits a message event, calls the handler and acks seq cumulatively', async () => {
    const { url, endpoint } = await setup();
    const events: MessageEvent[] = [];
    const handled: unknown[] = [];
    endpoint.on('message', (e) => events.push(e));
    endpoint.onMessage(async (data) => {
      handled.push(data);
    });
    const c = await client(url);
    c.sendJson({ t: 'msg', data: { n: 0 } });
    c.sendJson([
      { t: 'msg', seq: 1, data: { n: 1 } },
      { t: 'msg', seq: 2, data: { n: 2 } },
    ]);
    c.sendJson({ t: 'msg', seq: 3, data: { n: 3 } });
    await c.next((f) => f.t === 'ack' && f.seq === 3);
    expect(handled).toEqual([{ n: 0 }, { n: 1 }, { n: 2 }, { n: 3 }]);
    expect(events.map((e) => e.seq)).toEqual([undefined, 1, 2, 3]);
    // A resent seq (its ack was lost) is acked again without running the handler twice.
    c.sendJson({ t: 'msg', seq: 2, data: { n: 2 } });
    await c.next((f) => f.t === 'ack' && f.seq === 3);
    expect(handled).toHaveLength(4);
  });

  it('runs message handlers of one connection in order, acking after each finished', async () => {
    const { url, endpoint } = await setup();
    const order: number[] = [];
    endpoint.onMessage(async (data) => {
      const n = (data as { n: number }).n;
      // The first message takes longest: order must still hold.
      await new Promise((resolve) => setTimeout(resolve, n === 1 ? 30 : 1));
      order.push(n);
    });
    const c = await client(url);
    for (let n = 1; n <= 5; n += 1) c.sendJson({ t: 'msg', seq: n, data: { n } });
    await c.next((f) => f.t === 'ack' && f.seq === 5);
    expect(order).toEqual([1, 2, 3, 4, 5]);
    const acks = c.frames.filter((f) => f.t === 'ack').map((f) => f.seq as number);
    expect(acks).toEqual([...acks].sort((x, y) => x - y));
  });

  it('reports NO_HANDLER (final: acked, the session goes on) and HANDLER_ERROR (not acked until processed)', async () => {
    const { url, endpoint } = await setup({ ackDelayMs: 0 });
    const c = await client(url);
    c.sendJson({ t: 'msg', seq: 1, data: 1 });
    expect(await c.next((f) => f.t === 'error')).toMatchObject({
      code: 'NO_HANDLER',
      final: true,
      ref: { t: 'msg', seq: 1 },
    });
    await c.next((f) => f.t === 'ack' && f.seq === 1);
    const dispose = endpoint.onMessage(() => {
      throw new Error('boom');
    });
    c.sendJson({ t: 'msg', seq: 2, data: 2 });
    const err = await c.next((f) => f.t === 'error');
    expect(err).toMatchObject({
      code: 'HANDLER_ERROR',
      message: 'boom',
      ref: { t: 'msg', seq: 2 },
    });
    expect(err.final).toBeUndefined();
    // Not processed, so the client sends it again (same seq); it fails again.
    c.sendJson({ t: 'msg', seq: 2, data: 2 });
    await c.next((f) => f.t === 'error' && f.code === 'HANDLER_ERROR');
    dispose();
    const handled: unknown[] = [];
    endpoint.onMessage((data) => {
      handled.push(data);
    });
    c.sendJson({ t: 'msg', seq: 2, data: 2 });
    await c.next((f) => f.t === 'ack' && f.seq === 2);
    expect(handled).toEqual([2]);
    expect(c.frames.filter((f) => f.t === 'ack').map((f) => f.seq)).toEqual([1, 2]);
    expect(endpoint.stats().delivery.failedProcessing).toBe(2);
  });

  it('lets the application send to a connection', async () => {
    const { url, endpoint } = await setup();
    endpoint.on('connection', (conn) => conn.send({ hi: conn.id }));
    const c = await client(url);
    const msg = await c.next((f) => f.t === 'msg');
    expect(msg.data).toEqual({ hi: c.frames[0]?.cid });
    expect(msg.seq).toBeUndefined();
  });
});

describe('requests', () => {
  it('replies res ok with the handler result, NO_HANDLER, HANDLER_ERROR without a stack, and ReplyError codes', async () => {
    const { url, endpoint } = await setup();
    endpoint.handle('add', (data) => {
      const { a, b } = data as { a: number; b: number };
      return a + b;
    });
    endpoint.handle('slow', async (data) => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      return { echoed: data ?? null };
    });
    endpoint.handle('nothing', () => undefined);
    endpoint.handle('fail', async () => {
      throw new Error('database is down');
    });
    endpoint.handle('missing', () => {
      throw new ReplyError('NOT_FOUND', 'no such order');
    });
    endpoint.handle('bigint', () => ({ n: 1n }) as never);
    const c = await client(url);
    expect(await c.request('add', { a: 2, b: 3 }, 1)).toEqual({
      t: 'res',
      id: 1,
      ok: true,
      data: 5,
    });
    expect(await c.request('slow', 'x', 'two')).toEqual({
      t: 'res',
      id: 'two',
      ok: true,
      data: { echoed: 'x' },
    });
    expect(await c.request('nothing', null, 3)).toEqual({ t: 'res', id: 3, ok: true });
    expect(await c.request('nope', null, 4)).toEqual({
      t: 'res',
      id: 4,
      ok: false,
      error: { code: 'NO_HANDLER', message: 'no handler for method "nope"' },
    });
    const failed = await c.request('fail', null, 5);
    expect(failed).toEqual({
      t: 'res',
      id: 5,
      ok: false,
      error: { code: 'HANDLER_ERROR', message: 'database is down' },
    });
    expect(JSON.stringify(failed)).not.toContain('at ');
    expect(await c.request('missing', null, 6)).toMatchObject({
      ok: false,
      error: { code: 'NOT_FOUND' },
    });
    expect(await c.request('bigint', null, 7)).toMatchObject({
      ok: false,
      error: { code: 'HANDLER_ERROR' },
    });
  });

  it('disposes a handler', async () => {
    const { url, endpoint } = await setup();
    const dispose = endpoint.handle('x', () => 1);
    const c = await client(url);
    expect(await c.request('x', null, 1)).toMatchObject({ ok: true });
    dispose();
    expect(await c.request('x', null, 2)).toMatchObject({
      ok: false,
      error: { code: 'NO_HANDLER' },
    });
  });
});

describe('topics', () => {
  it('subscribes, delivers server publications with offsets, and unsubscribes', async () => {
    const { url, tether } = await setup();
    const c = await client(url);
    c.sendJson({ t: 'sub', topic: 'news' });
    const sub = await c.next((f) => f.t === 'subscribed');
    expect(sub).toMatchObject({ topic: 'news', offset: 0, recovered: true, replay: 0 });
    const r1 = await tether.publish('news', { n: 1 });
    const r2 = await tether.publish('news', { n: 2 });
    expect(r1).toMatchObject({ epoch: sub.epoch, offset: 1, delivered: 1 });
    expect(r2.offset).toBe(2);
    const p1 = await c.next((f) => f.t === 'pub');
    const p2 = await c.next((f) => f.t === 'pub');
    expect(p1).toMatchObject({ topic: 'news', epoch: sub.epoch, offset: 1, data: { n: 1 } });
    expect(p2).toMatchObject({ offset: 2, data: { n: 2 } });
    c.sendJson({ t: 'unsub', topic: 'news' });
    await c.next((f) => f.t === 'unsubscribed' && f.topic === 'news');
    c.sendJson({ t: 'unsub', topic: 'news' });
    expect(await c.next((f) => f.t === 'error')).toMatchObject({
      code: 'NOT_SUBSCRIBED',
      ref: { t: 'unsub', topic: 'news' },
    });
  });

  it('reports recovered by position: a position the history covers recovers, another epoch does not', async () => {
    const { url, tether } = await setup();
    const holder = await client(url);
    holder.sendJson({ t: 'sub', topic: 'prices' });
    const first = await holder.next((f) => f.t === 'subscribed');
    await tether.publish('prices', 1);
    const c = await client(url);
    c.sendJson({ t: 'sub', topic: 'prices', from: { epoch: first.epoch, offset: 1 } });
    expect(await c.next((f) => f.t === 'subscribed')).toMatchObject({
      offset: 1,
      recovered: true,
      replay: 0,
    });
    c.sendJson({ t: 'unsub', topic: 'prices' });
    await c.next((f) => f.t === 'unsubscribed');
    c.sendJson({ t: 'sub', topic: 'prices', from: { epoch: first.epoch, offset: 0 } });
    expect(await c.next((f) => f.t === 'subscribed')).toMatchObject({
      recovered: true,
      replay: 1,
    });
    expect(await c.next((f) => f.t === 'pub')).toMatchObject({ offset: 1, data: 1 });
    c.sendJson({ t: 'sub', topic: 'prices', from: { epoch: 'other', offset: 1 } });
    expect(await c.next((f) => f.t === 'subscribed')).toMatchObject({ recovered: false });
  });

  it('encodes a publication once: every subscriber receives the identical string', async () => {
    const { url, tether } = await setup();
    const subs = await Promise.all([client(url), client(url), client(url)]);
    for (const s of subs) s.sendJson({ t: 'sub', topic: 'fan' });
    for (const s of subs) await s.next((f) => f.t === 'subscribed');
    await tether.publish('fan', { big: 'x'.repeat(100), n: 7 });
    for (const s of subs) await s.next((f) => f.t === 'pub');
    const texts = subs.map((s) => s.messages.find((m) => m.includes('"t":"pub"')));
    expect(new Set(texts).size).toBe(1);
  });

  it('refuses client publish without authorizePublish, allows it with, and applies authorizeSubscribe', async () => {
    const { url } = await setup({
      authorizePublish: async ({ topic }) => topic.startsWith('chat:'),
      authorizeSubscribe: ({ topic }) => topic !== 'secret',
    });
    const c = await client(url);
    c.sendJson({ t: 'sub', topic: 'secret' });
    expect(await c.next((f) => f.t === 'error')).toMatchObject({
      code: 'FORBIDDEN',
      ref: { t: 'sub', topic: 'secret' },
    });
    c.sendJson({ t: 'sub', topic: 'chat:1' });
    await c.next((f) => f.t === 'subscribed');
    c.sendJson({ t: 'publish', topic: 'chat:1', data: 'hi', id: 9 });
    const published = await c.next((f) => f.t === 'published');
    expect(published).toMatchObject({ topic: 'chat:1', id: 9, offset: 1 });
    // The publisher is subscribed too: the pub frame went out in the same batch.
    expect(c.frames.find((f) => f.t === 'pub')).toMatchObject({
      topic: 'chat:1',
      data: 'hi',
      offset: 1,
    });
    c.sendJson({ t: 'publish', topic: 'news', data: 'x', id: 10 });
    expect(await c.next((f) => f.t === 'error')).toMatchObject({
      code: 'FORBIDDEN',
      ref: { t: 'publish', id: 10 },
    });
  });

  it('answers FORBIDDEN to publish when no authorizePublish hook is set', async () => {
    const { url } = await setup();
    const c = await client(url);
    c.sendJson({ t: 'publish', topic: 'news', data: 1 });
    expect(await c.next((f) => f.t === 'error')).toMatchObject({ code: 'FORBIDDEN' });
  });

  it('drops subscriptions when a connection closes', async () => {
    const { url, tether } = await setup();
    const c = await client(url);
    c.sendJson({ t: 'sub', topic: 'gone' });
    await c.next((f) => f.t === 'subscribed');
    expect(tether.stats().topics.subscriptions).toBe(1);
    c.close();
    await until(() => tether.stats().topics.subscriptions === 0, 'subscription removed');
    expect((await tether.publish('gone', 1)).delivered).toBe(0);
  });
});

describe('write coalescing', () => {
  it('groups encoded frames into batches by count and size, keeping their bytes', () => {
    const frames = ['{"a":1}', '{"b":2}', '{"c":3}', 'x'.repeat(50), '{"d":4}'];
    expect([...batches(frames.slice(0, 1), 10, 100)]).toEqual([{ message: '{"a":1}', frames: 1 }]);
    expect([...batches(frames.slice(0, 3), 2, 100)]).toEqual([
      { message: '[{"a":1},{"b":2}]', frames: 2 },
      { message: '{"c":3}', frames: 1 },
    ]);
    // The 50-character frame does not fit with its neighbours under 40 characters: it goes alone.
    expect([...batches(frames, 10, 40)].map((b) => b.frames)).toEqual([3, 1, 1]);
  });

  it('sends frames queued in one tick as batch messages, split at maxBatch and the size limit', async () => {
    const { url, tether } = await setup();
    const c = await client(url);
    c.sendJson({ t: 'sub', topic: 'burst' });
    await c.next((f) => f.t === 'subscribed');
    const before = c.messages.length;
    for (let i = 0; i < 1500; i += 1) void tether.publish('burst', i);
    await until(() => c.frames.filter((f) => f.t === 'pub').length === 1500, '1500 publications');
    const batches = c.messages.slice(before);
    // 1500 frames in one tick leave as a few batch messages (at most maxBatch frames and
    // about maxMessageBytes each), not 1500 writes.
    expect(batches.length).toBeGreaterThanOrEqual(2);
    expect(batches.length).toBeLessThanOrEqual(5);
    for (const text of batches) {
      const parsed = JSON.parse(text) as unknown[];
      expect(Array.isArray(parsed) && parsed.length <= 1000).toBe(true);
      expect(text.length).toBeLessThanOrEqual(64 * 1024);
    }
    const offsets = c.frames.filter((f) => f.t === 'pub').map((f) => f.offset);
    expect(offsets).toEqual(Array.from({ length: 1500 }, (_, i) => i + 1));
  });
});
