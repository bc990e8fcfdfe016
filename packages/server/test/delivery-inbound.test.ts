/**
 * Client -> server delivery: each reliable `msg`/`req` is processed once per session, in
 * order, across reconnects; acks are cumulative and batched, and never claim a seq that
 * was not processed (a dropped, failed or out-of-order frame is not acked).
 */
import { describe, expect, it } from 'vitest';
import { acks, cut, deliveryServer, range, resumeOf } from './delivery-helpers.js';
import { until } from './helpers.js';

const server = deliveryServer();
const { setup, connect } = server;

describe('processed once', () => {
  it('dedupes client seqs across a reconnect: the handler runs once, welcome.ack says so', async () => {
    const { url, endpoint } = await setup({ ackDelayMs: 0 });
    const handled: number[] = [];
    endpoint.onMessage((data) => {
      handled.push(data as number);
    });
    const a = await connect(url);
    for (let n = 1; n <= 3; n += 1) a.c.sendJson({ t: 'msg', seq: n, data: n });
    await a.c.next((f) => f.t === 'ack' && f.seq === 3);
    await cut(a.c);
    await until(() => endpoint.connections.size === 0, 'server saw the cut');

    const b = await connect(url, resumeOf(a.welcome, 0));
    expect(b.welcome).toMatchObject({ resumed: true, ack: 3 });
    // A client that missed the ack resends everything: only 4 and 5 are new.
    for (let n = 1; n <= 5; n += 1) b.c.sendJson({ t: 'msg', seq: n, data: n });
    await b.c.next((f) => f.t === 'ack' && f.seq === 5);
    expect(handled).toEqual([1, 2, 3, 4, 5]);
    expect(endpoint.stats().duplicates).toBe(3);
  });

  it('never acks past a seq it did not process: a frame after a gap is dropped unacked', async () => {
    const { url, endpoint } = await setup({ ackDelayMs: 0 });
    const handled: number[] = [];
    endpoint.onMessage((data) => {
      handled.push(data as number);
    });
    const a = await connect(url);
    a.c.sendJson({ t: 'msg', seq: 1, data: 1 });
    await a.c.next((f) => f.t === 'ack' && f.seq === 1);
    // 2 is lost on the way; 3 and 4 arrive: neither runs nor is acked.
    a.c.sendJson({ t: 'msg', seq: 3, data: 3 });
    a.c.sendJson({ t: 'msg', seq: 4, data: 4 });
    a.c.sendJson({ t: 'ping', ts: 1 });
    await a.c.next((f) => f.t === 'pong');
    expect(handled).toEqual([1]);
    expect(acks(a.c)).toEqual([1]);
    expect(endpoint.stats().delivery.outOfOrderDropped).toBe(2);
    // The client resends from the gap: 2, 3, 4 run in order.
    for (const n of [2, 3, 4]) a.c.sendJson({ t: 'msg', seq: n, data: n });
    await a.c.next((f) => f.t === 'ack' && f.seq === 4);
    expect(handled).toEqual([1, 2, 3, 4]);
  });

  it('a frame dropped by the rate limit is not acked, nor anything after it', async () => {
    const { url, endpoint } = await setup({
      ackDelayMs: 0,
      rateLimit: { perSecond: 1, burst: 3, dropsBeforeClose: 100 },
    });
    const handled: number[] = [];
    endpoint.onMessage((data) => {
      handled.push(data as number);
    });
    // hello takes one token: seqs 1 and 2 fit, 3 is dropped (RATE_LIMITED), 4 follows a gap.
    const a = await connect(url);
    a.c.sendJson(range(1, 4).map((n) => ({ t: 'msg', seq: n, data: n })));
    const limited = await a.c.next((f) => f.t === 'error' && f.code === 'RATE_LIMITED');
    expect(limited).toMatchObject({ ref: { t: 'msg', seq: 3 } });
    await a.c.next((f) => f.t === 'ack' && f.seq === 2);
    await until(() => endpoint.stats().rateLimited >= 2, 'both dropped');
    expect(handled).toEqual([1, 2]);
    expect(Math.max(...acks(a.c))).toBe(2);
  });

  it('a handler error leaves the message unprocessed: not acked, run again when resent', async () => {
    const { url, endpoint } = await setup({ ackDelayMs: 0 });
    const calls: number[] = [];
    let fail = true;
    endpoint.onMessage((data) => {
      calls.push(data as number);
      if (data === 2 && fail) throw new Error('not now');
    });
    const a = await connect(url);
    for (let n = 1; n <= 3; n += 1) a.c.sendJson({ t: 'msg', seq: n, data: n });
    expect(await a.c.next((f) => f.t === 'error')).toMatchObject({
      code: 'HANDLER_ERROR',
      ref: { seq: 2 },
    });
    a.c.sendJson({ t: 'ping', ts: 1 });
    await a.c.next((f) => f.t === 'pong');
    // 3 was queued behind 2: dropped at its turn, not run.
    expect(calls).toEqual([1, 2]);
    expect(Math.max(...acks(a.c))).toBe(1);
    // After a reconnect the client resends from welcome.ack.
    await cut(a.c);
    await until(() => endpoint.connections.size === 0, 'server saw the cut');
    fail = false;
    const b = await connect(url, resumeOf(a.welcome, 0));
    expect(b.welcome.ack).toBe(1);
    for (let n = 2; n <= 3; n += 1) b.c.sendJson({ t: 'msg', seq: n, data: n });
    await b.c.next((f) => f.t === 'ack' && f.seq === 3);
    expect(calls).toEqual([1, 2, 2, 3]);
  });

  it('a reliable request runs once, and its reply comes on the connection that asked', async () => {
    const { url, endpoint } = await setup({ ackDelayMs: 0 });
    let runs = 0;
    endpoint.handle('charge', () => {
      runs += 1;
      return { charged: runs };
    });
    const a = await connect(url);
    a.c.sendJson({ t: 'req', id: 1, method: 'charge', seq: 1 });
    expect(await a.c.next((f) => f.t === 'res')).toMatchObject({ id: 1, ok: true });
    await a.c.next((f) => f.t === 'ack' && f.seq === 1);
    // The reply was lost with the link: the resent request is a duplicate and does not run.
    a.c.sendJson({ t: 'req', id: 1, method: 'charge', seq: 1 });
    await a.c.next((f) => f.t === 'ack' && f.seq === 1);
    expect(runs).toBe(1);
  });

  it('handlers run in order per session, across a reconnect', async () => {
    const { url, endpoint } = await setup({ ackDelayMs: 0 });
    const order: string[] = [];
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    endpoint.onMessage(async (data) => {
      order.push(`start ${String(data)}`);
      if (data === 1) await gate;
      order.push(`end ${String(data)}`);
    });
    const a = await connect(url);
    a.c.sendJson({ t: 'msg', seq: 1, data: 1 });
    await until(() => order.length === 1, 'first handler started');
    // The link dies while 1 runs; the client resumes, resends 1 and sends 2.
    await cut(a.c);
    await until(() => endpoint.connections.size === 0, 'server saw the cut');
    const b = await connect(url, resumeOf(a.welcome, 0));
    expect(b.welcome.ack).toBe(0);
    b.c.sendJson({ t: 'msg', seq: 1, data: 1 });
    b.c.sendJson({ t: 'msg', seq: 2, data: 2 });
    b.c.sendJson({ t: 'ping', ts: 1 });
    await b.c.next((f) => f.t === 'pong');
    expect(order).toEqual(['start 1']);
    release();
    // The ack of 1 (processed on the old connection) and of 2 arrive on the new one.
    await b.c.next((f) => f.t === 'ack' && f.seq === 2);
    expect(order).toEqual(['start 1', 'end 1', 'start 2', 'end 2']);
  });
});

describe('acks', () => {
  it('are cumulative and batched by count, and by time', async () => {
    // Count: with a 60 s delay only the count can send the ack of a 25-message burst.
    const { url, endpoint } = await setup({ ackEvery: 10, ackDelayMs: 60_000 });
    endpoint.onMessage(() => {});
    const a = await connect(url);
    a.c.sendJson(range(1, 25).map((n) => ({ t: 'msg', seq: n, data: n })));
    await a.c.next((f) => f.t === 'ack' && f.seq === 25);
    const seen = acks(a.c);
    expect(seen.length).toBeLessThanOrEqual(3);
    expect(seen).toEqual([...seen].sort((x, y) => x - y));
    await server.started?.tether.close({ drainTimeoutMs: 500 });

    // Time: with a count of 1000 only the delay can send it; one ack for the burst.
    const second = await setup({ ackEvery: 1000, ackDelayMs: 20 });
    second.endpoint.onMessage(() => {});
    const b = await connect(second.url);
    for (let n = 1; n <= 5; n += 1) b.c.sendJson({ t: 'msg', seq: n, data: n });
    await b.c.next((f) => f.t === 'ack' && f.seq === 5);
    expect(acks(b.c)).toEqual([5]);
  });
});
