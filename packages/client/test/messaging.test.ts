import { describe, expect, it } from 'vitest';
import { QueueFullError, ServerError } from '../src/index.js';
import { harness } from './helpers/harness.js';

describe('outbox', () => {
  it('queues sends while disconnected and flushes them in order with seq 1..n', async () => {
    const h = harness({ autoConnect: false });
    const sends = [1, 2, 3].map((n) => h.client.send({ n }));
    expect(h.client.stats().queued).toBe(3);
    void h.client.connect();
    const socket = h.ws.last();
    socket.accept();
    expect(socket.framesOfType('msg')).toEqual([
      { t: 'msg', seq: 1, data: { n: 1 } },
      { t: 'msg', seq: 2, data: { n: 2 } },
      { t: 'msg', seq: 3, data: { n: 3 } },
    ]);
    socket.receive({ t: 'ack', seq: 2 });
    await Promise.all(sends.slice(0, 2));
    expect(h.client.stats().queued).toBe(1);
    expect(h.of('ack')).toEqual([{ type: 'ack', seq: 2 }]);
    socket.receive({ t: 'ack', seq: 3 });
    await sends[2];
    expect(h.client.stats().queued).toBe(0);
    await h.client.close();
  });

  it('keeps unacked messages across a reconnect: same seq when resumed, after the server ack', async () => {
    const h = harness({ random: () => 0 });
    const first = h.ws.last();
    first.accept({ sid: 'S', token: 'T1' });
    const sends = [1, 2, 3, 4].map((n) => h.client.send(n));
    first.receive({ t: 'ack', seq: 1 });
    first.drop();
    void h.client.send(5); // queued while reconnecting
    h.clock.advance(500);
    const second = h.ws.last();
    second.open();
    // The hello asks to resume with what it has seen.
    expect(second.framesOfType('hello')[0]).toMatchObject({
      resume: { sid: 'S', token: 'T1', seq: 0 },
    });
    second.receive({ ...welcomeFor('S'), resumed: true, ack: 2 });
    expect(second.framesOfType('msg').map((f) => [f.seq, f.data])).toEqual([
      [3, 3],
      [4, 4],
      [5, 5],
    ]);
    await Promise.all(sends.slice(0, 2));
    await h.client.close();
  });

  it('renumbers from 1 when the server starts a new session, and loses nothing', () => {
    const h = harness({ random: () => 0 });
    h.ws.last().accept();
    for (const n of [1, 2, 3]) void h.client.send(n);
    h.ws.last().receive({ t: 'ack', seq: 1 });
    h.ws.last().drop();
    h.clock.advance(500);
    h.ws.last().accept({ resumed: false, reason: 'unknown' });
    expect(h.ws.last().framesOfType('msg')).toEqual([
      { t: 'msg', seq: 1, data: 2 },
      { t: 'msg', seq: 2, data: 3 },
    ]);
    void h.client.send(4);
    expect(h.ws.last().framesOfType('msg').at(-1)).toEqual({ t: 'msg', seq: 3, data: 4 });
    expect(h.of('open').at(-1)).toMatchObject({ resumed: false, resumeFailure: 'unknown' });
    void h.client.close();
  });

  it('rejects the newest message when full (count), with an overflow and an error event', async () => {
    const h = harness({ autoConnect: false, maxQueue: 3 });
    const ok = [1, 2, 3].map((n) => h.client.send(n));
    const refused = h.client.send(4);
    await expect(refused).rejects.toBeInstanceOf(QueueFullError);
    await expect(refused).rejects.toMatchObject({
      code: 'QUEUE_FULL',
      retryable: true,
      limit: 'maxQueue',
    });
    expect(h.of('overflow')).toEqual([
      { type: 'overflow', limit: 'maxQueue', queued: 3, queuedBytes: expect.any(Number) },
    ]);
    expect(h.of('error')[0]?.error.code).toBe('QUEUE_FULL');
    // Nothing queued was dropped: all three go out.
    void h.client.connect();
    h.ws.last().accept();
    expect(
      h.ws
        .last()
        .framesOfType('msg')
        .map((f) => f.data),
    ).toEqual([1, 2, 3]);
    h.ws.last().receive({ t: 'ack', seq: 3 });
    await Promise.all(ok);
    await h.client.close();
  });

  it('is bounded by bytes too', async () => {
    const h = harness({ autoConnect: false, maxQueueBytes: 100 });
    void h.client.send('x'.repeat(40));
    const refused = h.client.send('y'.repeat(40));
    await expect(refused).rejects.toMatchObject({ code: 'QUEUE_FULL', limit: 'maxQueueBytes' });
    await h.client.close();
  });

  it('refuses a message larger than the server limit without costing the connection', async () => {
    const h = harness();
    h.ws.last().accept({ limits: { maxMessageBytes: 64, rate: 100, burst: 200, maxBatch: 10 } });
    await expect(h.client.send('z'.repeat(100))).rejects.toMatchObject({ code: 'MESSAGE_TOO_BIG' });
    expect(h.ws.last().framesOfType('msg')).toHaveLength(0);
    expect(h.client.state).toBe('open');
    await h.client.close();
  });

  it('paces the outbox to the server rate limit instead of getting cut off', () => {
    const h = harness({ autoConnect: false });
    for (let n = 0; n < 20; n++) void h.client.send(n);
    void h.client.connect();
    h.ws.last().accept({ limits: { maxMessageBytes: 65536, rate: 10, burst: 5, maxBatch: 10 } });
    // hello went first; a burst of 90% of 5 minus that hello's token.
    const sentNow = h.ws.last().framesOfType('msg').length;
    expect(sentNow).toBeLessThan(5);
    h.clock.advance(5_000);
    expect(
      h.ws
        .last()
        .framesOfType('msg')
        .map((f) => f.data),
    ).toEqual([...Array(20).keys()]);
    void h.client.close();
  });
});

describe('server messages', () => {
  it('delivers messages, acks reliable ones in batches and drops duplicates', () => {
    const h = harness({ ackDelayMs: 100, ackEvery: 3 });
    const socket = h.ws.last();
    socket.accept();
    socket.receive([
      { t: 'msg', seq: 1, data: 'a' },
      { t: 'msg', seq: 2, data: 'b' },
    ]);
    expect(socket.framesOfType('ack')).toHaveLength(0);
    h.clock.advance(100);
    expect(socket.framesOfType('ack')).toEqual([{ t: 'ack', seq: 2 }]);
    socket.receive({ t: 'msg', seq: 2, data: 'b' }); // replayed duplicate
    socket.receive({ t: 'msg', seq: 3, data: 'c' });
    socket.receive({ t: 'msg', seq: 4, data: 'd' }); // third unacked: ack at once
    expect(socket.framesOfType('ack').at(-1)).toEqual({ t: 'ack', seq: 4 });
    socket.receive({ t: 'msg', data: 'fire-and-forget' });
    expect(h.of('message').map((m) => m.data)).toEqual(['a', 'b', 'c', 'd', 'fire-and-forget']);
    expect(h.client.stats().messagesReceived).toBe(5);
    void h.client.close();
  });

  it('turns error frames into typed error events and survives garbage', () => {
    const h = harness();
    const socket = h.ws.last();
    socket.accept();
    socket.receive({
      t: 'error',
      code: 'RATE_LIMITED',
      message: 'slow down',
      ref: { t: 'msg', seq: 9 },
    });
    socket.receive('not json');
    socket.receive('{"t":"nonsense"}');
    socket.emit('message', { data: new ArrayBuffer(2) });
    const errors = h.of('error').map((e) => e.error);
    expect(errors[0]).toBeInstanceOf(ServerError);
    expect(errors[0]).toMatchObject({
      code: 'RATE_LIMITED',
      retryable: true,
      ref: { t: 'msg', seq: 9 },
    });
    expect(errors.slice(1).map((e) => e.code)).toEqual([
      'SERVER_PROTOCOL_ERROR',
      'SERVER_PROTOCOL_ERROR',
      'SERVER_PROTOCOL_ERROR',
    ]);
    expect(h.client.state).toBe('open');
    void h.client.close();
  });

  it('emits publications of subscribed topics as client events, and ignores others', () => {
    const h = harness();
    h.ws.last().accept();
    h.client.subscribe('news');
    h.ws.last().receive([
      { t: 'subscribed', topic: 'news', epoch: 'e1', offset: 0, recovered: true, replay: 0 },
      { t: 'pub', topic: 'news', epoch: 'e1', offset: 1, data: { x: 1 } },
      { t: 'pub', topic: 'other', epoch: 'e1', offset: 1, data: { x: 2 } },
    ]);
    expect(h.of('pub')).toEqual([
      { type: 'pub', topic: 'news', epoch: 'e1', offset: 1, data: { x: 1 }, replayed: false },
    ]);
    void h.client.close();
  });

  it('answers server requests through onRequest, or NO_HANDLER', async () => {
    const h = harness({ onRequest: async (method, data) => ({ method, data: data ?? null }) });
    h.ws.last().accept();
    h.ws.last().receive({ t: 'req', id: 'r1', method: 'whoami', data: 7 });
    await h.flushMicrotasks();
    expect(h.ws.last().framesOfType('res')).toEqual([
      { t: 'res', id: 'r1', ok: true, data: { method: 'whoami', data: 7 } },
    ]);
    await h.client.close();
    const bare = harness();
    bare.ws.last().accept();
    bare.ws.last().receive({ t: 'req', id: 2, method: 'x' });
    expect(bare.ws.last().framesOfType('res')[0]).toMatchObject({
      ok: false,
      error: { code: 'NO_HANDLER' },
    });
    await bare.client.close();
  });
});

describe('requests', () => {
  it('resolves with the reply and rejects with the server error', async () => {
    const h = harness();
    const socket = h.ws.last();
    socket.accept();
    const ok = h.client.request('add', [1, 2]);
    const bad = h.client.request('nope');
    const [r1, r2] = socket.framesOfType('req') as Array<{ id: number }>;
    socket.receive({ t: 'res', id: r1!.id, ok: true, data: 3 });
    socket.receive({
      t: 'res',
      id: r2!.id,
      ok: false,
      error: { code: 'NO_HANDLER', message: 'no' },
    });
    await expect(ok).resolves.toBe(3);
    await expect(bad).rejects.toMatchObject({ name: 'ServerError', code: 'NO_HANDLER' });
    await h.client.close();
  });

  it('times out, and fails with CONNECTION_LOST when the socket drops after sending', async () => {
    const h = harness({ random: () => 0 });
    h.ws.last().accept();
    const slow = h.client.request('slow', null, { timeoutMs: 1000 });
    h.clock.advance(1000);
    await expect(slow).rejects.toMatchObject({ code: 'REQUEST_TIMEOUT', retryable: true });
    const lost = h.client.request('inflight');
    h.ws.last().drop();
    await expect(lost).rejects.toMatchObject({
      code: 'CONNECTION_LOST',
      retryable: true,
      closeCode: 1006,
    });
    await h.client.close();
    expect(h.clock.pending).toBe(0);
  });

  it('holds requests made while disconnected until the connection opens', async () => {
    const h = harness({ autoConnect: false });
    const reply = h.client.request('later', 'x');
    void h.client.connect();
    h.ws.last().accept();
    const req = h.ws.last().framesOfType('req')[0] as { id: number };
    expect(req).toMatchObject({ method: 'later', data: 'x' });
    h.ws.last().receive({ t: 'res', id: req.id, ok: true, data: 'done' });
    await expect(reply).resolves.toBe('done');
    await h.client.close();
  });
});

describe('auth', () => {
  it('calls the token provider on every connect and offers it as a subprotocol', async () => {
    let n = 0;
    const h = harness({ random: () => 0, token: async () => `token-${++n}` });
    await h.flushMicrotasks();
    // After tether.v1, the early hello (its marker and the hello), then the token.
    expect(h.ws.last().protocols).toEqual([
      'tether.v1',
      'tether.v1.early',
      expect.stringMatching(/^tether\.hello\.[A-Za-z0-9_-]+$/),
      `tether.auth.${Buffer.from('token-1').toString('base64url')}`,
    ]);
    h.ws.last().drop();
    h.clock.advance(500);
    await h.flushMicrotasks();
    expect(h.ws.last().protocols.at(-1)).toBe(
      `tether.auth.${Buffer.from('token-2').toString('base64url')}`,
    );
    await h.client.close();
  });

  it('sends an Authorization header in header mode', () => {
    const h = harness({ token: 'abc', authVia: 'header' });
    expect(h.ws.last().init).toEqual({ headers: { Authorization: 'Bearer abc' } });
    expect(h.ws.last().protocols).toEqual([
      'tether.v1',
      'tether.v1.early',
      expect.stringMatching(/^tether\.hello\./),
    ]);
    void h.client.close();
  });

  it('a failing token provider counts as a failed attempt and is retried', async () => {
    let calls = 0;
    const h = harness({
      random: () => 0,
      token: () => {
        calls += 1;
        if (calls === 1) throw new Error('auth service down');
        return 'ok';
      },
    });
    expect(h.of('error')[0]?.error.code).toBe('TOKEN_PROVIDER_FAILED');
    expect(h.ws.sockets.length).toBe(0);
    h.clock.advance(500);
    expect(h.ws.sockets.length).toBe(1);
    await h.client.close();
  });
});

function welcomeFor(sid: string) {
  return {
    t: 'welcome' as const,
    v: 1,
    sid,
    token: 'T2',
    cid: 'c',
    resumed: false,
    ack: 0,
    hb: { interval: 25_000, timeout: 10_000 },
    limits: { maxMessageBytes: 65_536, rate: 1000, burst: 1000, maxBatch: 1000 },
    resumeWindow: 120_000,
    time: 0,
  };
}
