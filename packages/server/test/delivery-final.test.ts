/**
 * Final answers to reliable client frames (issue 11): a message nobody handles, or one the
 * application refuses with a ReplyError, is answered with an `error` marked `final` and
 * counts as processed, so the session goes on; a reliable `publish` (with `seq`) is
 * published once and a resend gets the same position again. Raw protocol client, real
 * sockets.
 */
import { describe, expect, it } from 'vitest';
import { ReplyError } from '../src/index.js';
import { acks, cut, deliveryServer, resumeOf } from './delivery-helpers.js';
import { until } from './helpers.js';

const { setup, connect } = deliveryServer({ ackDelayMs: 0 });

describe('final refusals of reliable messages', () => {
  it('answers a message nobody handles with a final NO_HANDLER, acks it, and lets the next ones through', async () => {
    const { url } = await setup();
    const a = await connect(url);
    a.c.sendJson({ t: 'msg', seq: 1, data: 'nobody' });
    expect(await a.c.next((f) => f.t === 'error')).toMatchObject({
      code: 'NO_HANDLER',
      final: true,
      ref: { t: 'msg', seq: 1 },
    });
    await a.c.next((f) => f.t === 'ack' && f.seq === 1);
    // A reliable request queued behind it is answered (NO_HANDLER is final for it too).
    a.c.sendJson({ t: 'req', id: 7, method: 'nope', seq: 2 });
    expect(await a.c.next((f) => f.t === 'res')).toMatchObject({
      id: 7,
      ok: false,
      error: { code: 'NO_HANDLER' },
    });
    await a.c.next((f) => f.t === 'ack' && f.seq === 2);
  });

  it('a ReplyError from a message handler is final: code, message and details reach the client, the seq is never run again', async () => {
    const { url, endpoint } = await setup();
    const runs: unknown[] = [];
    endpoint.onMessage((data) => {
      runs.push(data);
      if (data === 'refuse') {
        throw new ReplyError('UPSTREAM_REFUSED', 'the backend said no', {
          details: { status: 422 },
        });
      }
    });
    const a = await connect(url);
    a.c.sendJson({ t: 'msg', seq: 1, data: 'refuse' });
    expect(await a.c.next((f) => f.t === 'error')).toMatchObject({
      code: 'UPSTREAM_REFUSED',
      message: 'the backend said no',
      final: true,
      details: { status: 422 },
      ref: { t: 'msg', seq: 1 },
    });
    await a.c.next((f) => f.t === 'ack' && f.seq === 1);
    a.c.sendJson({ t: 'msg', seq: 2, data: 'fine' });
    await a.c.next((f) => f.t === 'ack' && f.seq === 2);

    // After a cut, a resend of seq 1 is not run again; its final answer is repeated.
    await cut(a.c);
    await until(() => endpoint.connections.size === 0, 'server saw the cut');
    const b = await connect(url, resumeOf(a.welcome, 0));
    expect(b.welcome).toMatchObject({ resumed: true, ack: 2 });
    b.c.sendJson({ t: 'msg', seq: 1, data: 'refuse' });
    expect(await b.c.next((f) => f.t === 'error')).toMatchObject({
      code: 'UPSTREAM_REFUSED',
      final: true,
      ref: { seq: 1 },
    });
    expect(runs).toEqual(['refuse', 'fine']);
  });

  it('any other throw is not final: not acked, and the resend runs again', async () => {
    const { url, endpoint } = await setup();
    let calls = 0;
    endpoint.onMessage(() => {
      calls += 1;
      if (calls === 1) throw new Error('database busy');
    });
    const a = await connect(url);
    a.c.sendJson({ t: 'msg', seq: 1, data: 1 });
    const err = await a.c.next((f) => f.t === 'error');
    expect(err).toMatchObject({ code: 'HANDLER_ERROR', ref: { seq: 1 } });
    expect(err.final).toBeUndefined();
    a.c.sendJson({ t: 'msg', seq: 1, data: 1 });
    await a.c.next((f) => f.t === 'ack' && f.seq === 1);
    expect(calls).toBe(2);
    expect(acks(a.c)).toEqual([1]);
  });
});

describe('reliable publish', () => {
  const allow = { authorizePublish: () => true };

  it('publishes once, acks after the store, and answers a resend with the same position', async () => {
    const { url, endpoint } = await setup(allow);
    const a = await connect(url);
    a.c.sendJson({ t: 'publish', topic: 'dev/1', data: { n: 1 }, id: 1, seq: 1 });
    const first = await a.c.next((f) => f.t === 'published');
    expect(first).toMatchObject({ topic: 'dev/1', id: 1, offset: 1 });
    await a.c.next((f) => f.t === 'ack' && f.seq === 1);

    // The answer was "lost": the client resends on a new connection of the session.
    await cut(a.c);
    await until(() => endpoint.connections.size === 0, 'server saw the cut');
    const b = await connect(url, resumeOf(a.welcome, 0));
    expect(b.welcome).toMatchObject({ resumed: true, ack: 1 });
    b.c.sendJson({ t: 'publish', topic: 'dev/1', data: { n: 1 }, id: 1, seq: 1 });
    const again = await b.c.next((f) => f.t === 'published');
    expect(again).toEqual(first);
    b.c.sendJson({ t: 'publish', topic: 'dev/1', data: { n: 2 }, id: 2, seq: 2 });
    expect(await b.c.next((f) => f.t === 'published')).toMatchObject({ id: 2, offset: 2 });

    const observer = await connect(url);
    observer.c.sendJson({ t: 'sub', topic: 'dev/1', last: 10 });
    const subscribed = await observer.c.next((f) => f.t === 'subscribed');
    expect(subscribed).toMatchObject({ offset: 2, replay: 2 });
  });

  it('shares the counter with messages, in order, and refuses finally where publishing is not allowed', async () => {
    const { url, endpoint } = await setup({
      authorizePublish: ({ topic }) => topic !== 'closed',
    });
    const seen: unknown[] = [];
    endpoint.onMessage((data) => {
      seen.push(data);
    });
    const a = await connect(url);
    a.c.sendJson({ t: 'msg', seq: 1, data: 'm1' });
    a.c.sendJson({ t: 'publish', topic: 'closed', data: 1, id: 1, seq: 2 });
    a.c.sendJson({ t: 'publish', topic: 'open', data: 2, id: 2, seq: 3 });
    a.c.sendJson({ t: 'msg', seq: 4, data: 'm4' });
    expect(await a.c.next((f) => f.t === 'error')).toMatchObject({
      code: 'FORBIDDEN',
      final: true,
      ref: { t: 'publish', id: 1, seq: 2 },
    });
    expect(await a.c.next((f) => f.t === 'published')).toMatchObject({ id: 2, offset: 1 });
    await a.c.next((f) => f.t === 'ack' && f.seq === 4);
    expect(seen).toEqual(['m1', 'm4']);
  });

  it('says ALREADY_PROCESSED for a resend whose answer it no longer holds', async () => {
    // The memory of answers is per process: a restart with a durable store loses it. The
    // same happens here for a seq that was processed as a message (no answer to repeat).
    const { url, endpoint } = await setup(allow);
    endpoint.onMessage(() => {});
    const a = await connect(url);
    a.c.sendJson({ t: 'msg', seq: 1, data: 1 });
    await a.c.next((f) => f.t === 'ack' && f.seq === 1);
    a.c.sendJson({ t: 'publish', topic: 'dev/1', data: 1, id: 9, seq: 1 });
    expect(await a.c.next((f) => f.t === 'error')).toMatchObject({
      code: 'ALREADY_PROCESSED',
      final: true,
      ref: { t: 'publish', id: 9, seq: 1 },
    });
  });
});
