/**
 * "Lose nothing", direct messages, on a ManualClock with a scripted server:
 * resume, exactly-once in-order delivery of server messages, ack batching,
 * the lost-session signal, reliable requests, and resends.
 */
import { describe, expect, it } from 'vitest';
import { ConnectionLostError, SequenceGapError } from '../src/index.js';
import { harness } from './helpers/harness.js';

type Frame = Record<string, unknown>;
const msg = (seq: number, data: unknown = `m${seq}`) => ({ t: 'msg' as const, seq, data }) as never;
const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('server messages across reconnects', () => {
  it('delivers a replay once and in order, and resumes with the highest seq received', () => {
    const h = harness({ random: () => 0 });
    const first = h.ws.last();
    first.accept({ sid: 'S', token: 'T1' });
    first.receive([msg(1), msg(2), msg(3)]);
    first.drop();
    h.clock.advance(500);
    const second = h.ws.last();
    second.open();
    expect(second.framesOfType('hello')[0]).toMatchObject({
      resume: { sid: 'S', token: 'T1', seq: 3 },
    });
    second.accept({ sid: 'S', token: 'T2', resumed: true });
    // The server replays from what it last saw acked; 2 and 3 are duplicates.
    second.receive([msg(2), msg(3), msg(4), msg(5)]);
    second.receive(msg(5));
    expect(h.of('message').map((m) => m.seq)).toEqual([1, 2, 3, 4, 5]);
    h.clock.advance(100);
    expect(second.framesOfType('ack').at(-1)).toEqual({ t: 'ack', seq: 5 });
    // The next resume presents the latest token.
    second.drop();
    h.clock.advance(500);
    h.ws.last().open();
    expect(h.ws.last().framesOfType('hello')[0]).toMatchObject({
      resume: { sid: 'S', token: 'T2', seq: 5 },
    });
    void h.client.close();
  });

  it('acks cumulatively in batches, by time and by count', () => {
    const h = harness({ ackDelayMs: 200, ackEvery: 50 });
    const socket = h.ws.last();
    socket.accept();
    socket.receive(range(1, 49).map((n) => msg(n)));
    expect(socket.framesOfType('ack')).toEqual([]);
    socket.receive(msg(50));
    expect(socket.framesOfType('ack')).toEqual([{ t: 'ack', seq: 50 }]);
    socket.receive([msg(51), msg(52)]);
    h.clock.advance(199);
    expect(socket.framesOfType('ack')).toHaveLength(1);
    h.clock.advance(1);
    expect(socket.framesOfType('ack')).toEqual([
      { t: 'ack', seq: 50 },
      { t: 'ack', seq: 52 },
    ]);
    // A duplicate alone is acked again (the server resent because an ack was lost).
    socket.receive(msg(52));
    h.clock.advance(200);
    expect(socket.framesOfType('ack').at(-1)).toEqual({ t: 'ack', seq: 52 });
    expect(h.of('message')).toHaveLength(52);
    void h.client.close();
  });

  it('acks what arrived before a graceful close, and on goodbye', async () => {
    const h = harness({ ackDelayMs: 1000, random: () => 0 });
    h.ws.last().accept();
    h.ws.last().receive([msg(1), msg(2)]);
    h.ws.last().receive({ t: 'goodbye', code: 1012, reason: 'restart', retryAfter: 10 });
    expect(h.ws.last().framesOfType('ack')).toEqual([{ t: 'ack', seq: 2 }]);
    h.ws.last().serverClose(1012);
    h.clock.advance(100);
    h.ws.last().accept({ resumed: false });
    h.ws.last().receive([msg(1), msg(2), msg(3)]);
    const socket = h.ws.last();
    await h.client.close();
    const sent = socket.frames();
    expect(sent.filter((f) => f.t === 'ack')).toEqual([{ t: 'ack', seq: 3 }]);
    expect(socket.closeCalls[0]?.code).toBe(1000);
    expect(h.clock.pending).toBe(0);
  });

  it('treats a skipped seq as a protocol error: reports it, reconnects and resumes', () => {
    const h = harness({ random: () => 0 });
    h.ws.last().accept({ sid: 'S', token: 'T1' });
    h.ws.last().receive([msg(1), msg(3), msg(4)]);
    expect(h.of('message').map((m) => m.seq)).toEqual([1]);
    const error = h.of('error')[0]?.error;
    expect(error).toBeInstanceOf(SequenceGapError);
    expect(error).toMatchObject({ code: 'SEQUENCE_GAP', expected: 2, received: 3 });
    expect(h.of('close')[0]).toMatchObject({ code: 1011, willReconnect: true });
    expect(h.client.state).toBe('reconnecting');
    h.clock.advance(500);
    h.ws.last().open();
    expect(h.ws.last().framesOfType('hello')[0]).toMatchObject({
      resume: { sid: 'S', seq: 1 },
    });
    h.ws.last().accept({ sid: 'S', resumed: true });
    h.ws.last().receive([msg(2), msg(3), msg(4)]);
    expect(h.of('message').map((m) => m.seq)).toEqual([1, 2, 3, 4]);
    void h.client.close();
  });
});

describe('sessions', () => {
  it('emits a session event on every welcome: new, then resumed', () => {
    const h = harness({ random: () => 0 });
    h.ws.last().accept({ sid: 'S' });
    h.ws.last().drop();
    h.clock.advance(500);
    h.ws.last().accept({ sid: 'S', resumed: true });
    expect(h.of('session')).toEqual([
      {
        type: 'session',
        sessionId: 'S',
        resumed: false,
        reason: undefined,
        previousSessionId: undefined,
        previousLastSeq: 0,
        resent: [],
      },
      {
        type: 'session',
        sessionId: 'S',
        resumed: true,
        reason: undefined,
        previousSessionId: undefined,
        previousLastSeq: 0,
        resent: [],
      },
    ]);
    // The session event comes before open.
    expect(h.seen.findIndex((e) => e.name === 'session')).toBeLessThan(
      h.seen.findIndex((e) => e.name === 'open'),
    );
    void h.client.close();
  });

  it('resumed:false after a resume: never silent, server numbering restarts, the outbox is renumbered', async () => {
    const h = harness({ random: () => 0 });
    h.ws.last().accept({ sid: 'OLD', token: 'T1' });
    const sends = ['a', 'b', 'c'].map((x) => h.client.send(x));
    h.ws.last().receive({ t: 'ack', seq: 1 });
    h.ws.last().receive([msg(1), msg(2), msg(3), msg(4)]);
    h.ws.last().drop();
    void h.client.send('d'); // queued while disconnected: never written to the old session
    h.clock.advance(500);
    h.ws.last().accept({ sid: 'NEW', token: 'T9', resumed: false, reason: 'expired' });
    expect(h.of('session').at(-1)).toEqual({
      type: 'session',
      sessionId: 'NEW',
      resumed: false,
      reason: 'expired',
      previousSessionId: 'OLD',
      previousLastSeq: 4,
      resent: [
        { seq: 1, previousSeq: 2, data: 'b', method: undefined, maybeProcessed: true },
        { seq: 2, previousSeq: 3, data: 'c', method: undefined, maybeProcessed: true },
        { seq: 3, previousSeq: 4, data: 'd', method: undefined, maybeProcessed: false },
      ],
    });
    expect(h.ws.last().framesOfType('msg')).toEqual([
      { t: 'msg', seq: 1, data: 'b' },
      { t: 'msg', seq: 2, data: 'c' },
      { t: 'msg', seq: 3, data: 'd' },
    ]);
    // The new session's seq 1 is new, not a duplicate of the old seq 1.
    h.ws.last().receive(msg(1, 'fresh'));
    expect(h.of('message').at(-1)).toMatchObject({ seq: 1, data: 'fresh' });
    expect(h.of('open').at(-1)).toMatchObject({ resumed: false, resumeFailure: 'expired' });
    h.ws.last().receive({ t: 'ack', seq: 3 });
    await Promise.all(sends);
    expect(h.client.stats().queued).toBe(0);
    void h.client.close();
  });

  it('a refused resume without a reason is reported as unknown', () => {
    const h = harness({ random: () => 0 });
    h.ws.last().accept({ sid: 'A' });
    h.ws.last().drop();
    h.clock.advance(500);
    h.ws.last().accept({ sid: 'B', resumed: false });
    expect(h.of('session').at(-1)).toMatchObject({ reason: 'unknown', previousSessionId: 'A' });
    void h.client.close();
  });

  it('numbering continues right after welcome.ack when close() discarded unacked messages', async () => {
    const h = harness({ random: () => 0 });
    h.ws.last().accept({ sid: 'S' });
    for (const x of [1, 2, 3, 4, 5]) void h.client.send(x);
    h.ws.last().receive({ t: 'ack', seq: 3 });
    await h.client.close(); // 4 and 5 are rejected with CLIENT_CLOSED
    void h.client.connect();
    h.ws.last().accept({ sid: 'S', resumed: true, ack: 3 });
    void h.client.send(6);
    // Not seq 6: the server processed 3 and would wait forever for 4.
    expect(h.ws.last().framesOfType('msg')).toEqual([{ t: 'msg', seq: 4, data: 6 }]);
    void h.client.close();
  });
});

describe('reliable requests', () => {
  it('survive a reconnect: resent with the same seq and id, answered once', async () => {
    const h = harness({ random: () => 0 });
    h.ws.last().accept({ sid: 'S' });
    void h.client.send('before');
    const reply = h.client.request('charge', { cents: 5 }, { reliable: true });
    const [req] = h.ws.last().framesOfType('req') as Frame[];
    expect(req).toMatchObject({ method: 'charge', seq: 2, data: { cents: 5 } });
    h.ws.last().drop();
    h.clock.advance(500);
    h.ws.last().accept({ sid: 'S', resumed: true, ack: 1 });
    expect(h.ws.last().framesOfType('req')).toEqual([req]);
    h.ws.last().receive([
      { t: 'ack', seq: 2 },
      { t: 'res', id: req?.id as number, ok: true, data: 'charged' },
    ]);
    await expect(reply).resolves.toBe('charged');
    expect(h.client.stats()).toMatchObject({ queued: 0, pendingRequests: 0 });
    void h.client.close();
  });

  it('processed but the reply was lost: CONNECTION_LOST with processed: true', async () => {
    const h = harness({ random: () => 0 });
    h.ws.last().accept({ sid: 'S' });
    const acked = h.client.request('a', null, { reliable: true });
    h.ws.last().receive({ t: 'ack', seq: 1 });
    const unacked = h.client.request('b', null, { reliable: true });
    h.ws.last().drop();
    await expect(acked).rejects.toMatchObject({ code: 'CONNECTION_LOST', processed: true });
    // The other one is still pending; the resumed welcome says the server processed it.
    h.clock.advance(500);
    h.ws.last().accept({ sid: 'S', resumed: true, ack: 2 });
    const err = await unacked.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectionLostError);
    expect(err).toMatchObject({ processed: true, retryable: false });
    expect(h.ws.last().framesOfType('req')).toEqual([]);
    void h.client.close();
  });

  it('a timeout fails the promise but keeps the frame until acked, so numbering has no hole', async () => {
    const h = harness({ autoConnect: false });
    const slow = h.client.request('slow', null, { reliable: true, timeoutMs: 1000 });
    void h.client.send('after');
    h.clock.advance(1000);
    await expect(slow).rejects.toMatchObject({ code: 'REQUEST_TIMEOUT' });
    void h.client.connect();
    h.ws.last().accept();
    expect(
      h.ws
        .last()
        .frames()
        .map((f) => [f.t, f.seq]),
    ).toEqual([
      ['hello', undefined],
      ['req', 1],
      ['msg', 2],
    ]);
    void h.client.close();
  });
});

describe('resends', () => {
  it('RATE_LIMITED on a reliable frame: pauses, then resends from it, in order', () => {
    const h = harness({ rateLimitedRetryMs: 1000 });
    const socket = h.ws.last();
    socket.accept();
    for (const x of [1, 2, 3, 4]) void h.client.send(x);
    socket.receive({
      t: 'error',
      code: 'RATE_LIMITED',
      message: 'slow',
      ref: { t: 'msg', seq: 2 },
    });
    void h.client.send(5); // held back while paused
    expect(socket.framesOfType('msg').map((f) => f.seq)).toEqual([1, 2, 3, 4]);
    h.clock.advance(1000);
    expect(socket.framesOfType('msg').map((f) => f.seq)).toEqual([1, 2, 3, 4, 2, 3, 4, 5]);
    void h.client.close();
  });

  it('resends what the server never acknowledged after ackTimeoutMs', () => {
    const h = harness({ ackTimeoutMs: 5000 });
    const socket = h.ws.last();
    socket.accept();
    void h.client.send('x');
    void h.client.send('y');
    h.clock.advance(4000);
    socket.receive({ t: 'ack', seq: 1 }); // progress restarts the deadline
    h.clock.advance(4999);
    expect(socket.framesOfType('msg').map((f) => f.seq)).toEqual([1, 2]);
    h.clock.advance(1);
    expect(socket.framesOfType('msg').map((f) => f.seq)).toEqual([1, 2, 2]);
    socket.receive({ t: 'ack', seq: 2 });
    h.clock.advance(20_000);
    expect(socket.framesOfType('msg')).toHaveLength(3);
    void h.client.close();
  });
});
