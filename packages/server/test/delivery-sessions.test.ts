/**
 * Server -> client delivery: sessions, resume, replay of missed direct messages, the
 * resume failures (expired, invalid, gap, unknown), session takeover (4010), acks and
 * retention.
 */
import { describe, expect, it } from 'vitest';
import { DeliveryError, type ResumeEvent } from '../src/index.js';
import type { Store } from '../src/store/index.js';
import { cut, deliveryServer, lastSeq, range, reliable, resumeOf } from './delivery-helpers.js';
import { until } from './helpers.js';

const server = deliveryServer();
const { setup, connect } = server;

describe('sessions and resume', () => {
  it('replays missed direct messages in order on resume, then goes live', async () => {
    const { url, endpoint } = await setup();
    const a = await connect(url);
    const sid = a.welcome.sid as string;
    for (let n = 1; n <= 3; n += 1) await endpoint.sendTo(sid, { n });
    await a.c.next((f) => f.t === 'msg' && f.seq === 3);
    expect(reliable(a.c)).toEqual([
      [1, { n: 1 }],
      [2, { n: 2 }],
      [3, { n: 3 }],
    ]);
    // The client saw 1..3 but acked nothing; the link dies; 4..6 are sent meanwhile.
    await cut(a.c);
    await until(() => endpoint.connections.size === 0, 'server saw the cut');
    const results = await Promise.all(range(4, 6).map((n) => endpoint.sendTo(sid, { n })));
    expect(results.map((r) => r.seq)).toEqual([4, 5, 6]);

    const resumes: ResumeEvent[] = [];
    endpoint.on('resume', (e) => resumes.push(e));
    const b = await connect(url, resumeOf(a.welcome, 2));
    expect(b.welcome).toMatchObject({ resumed: true, sid, ack: 0 });
    expect(b.welcome.reason).toBeUndefined();
    // 3 was received but the resume says 2: it comes again (the client drops it), then 4..6.
    await b.c.next((f) => f.t === 'msg' && f.seq === 6);
    await endpoint.sendTo(sid, { n: 7 });
    await b.c.next((f) => f.t === 'msg' && f.seq === 7);
    expect(reliable(b.c).map(([seq]) => seq)).toEqual([3, 4, 5, 6, 7]);
    expect(reliable(b.c).map(([, data]) => data)).toEqual(range(3, 7).map((n) => ({ n })));
    // Nothing live went out before the welcome, and the replay came right after it.
    const types = b.c.frames.map((f) => f.t);
    expect(types.indexOf('welcome')).toBe(0);
    expect(resumes).toMatchObject([{ resumed: true, sessionId: sid, requestedSessionId: sid }]);
    const stats = endpoint.stats();
    expect(stats.resumes.ok).toBe(1);
    expect(stats.delivery.messagesReplayed).toBe(4);
    expect(stats.replayed).toBe(4);
  });

  it('delivers messages sent to a disconnected session on resume, and rejects unknown sessions', async () => {
    const { url, endpoint } = await setup();
    const a = await connect(url);
    await cut(a.c);
    await until(() => endpoint.connections.size === 0, 'server saw the cut');
    await endpoint.sendTo(a.welcome.sid as string, 'while away');
    const b = await connect(url, resumeOf(a.welcome, 0));
    expect(b.welcome.resumed).toBe(true);
    expect(await b.c.next((f) => f.t === 'msg')).toMatchObject({ seq: 1, data: 'while away' });

    await expect(endpoint.sendTo('nope', 1)).rejects.toBeInstanceOf(DeliveryError);
    await expect(endpoint.sendTo('nope', 1)).rejects.toMatchObject({ code: 'SESSION_NOT_FOUND' });
    await expect(
      endpoint.sendTo(a.welcome.sid as string, undefined as never),
    ).rejects.toMatchObject({ code: 'INVALID_PAYLOAD' });
  });

  it('an expired window gives resumed:false, reason expired, a new session and an event', async () => {
    // A window of 0: the session expires the moment its connection closes.
    const { url, endpoint } = await setup(
      { resumeWindowMs: 0 },
      { kind: 'memory', sweepIntervalMs: 0 },
    );
    const resumes: ResumeEvent[] = [];
    endpoint.on('resume', (e) => resumes.push(e));
    const a = await connect(url);
    await cut(a.c);
    await until(() => endpoint.connections.size === 0, 'server saw the cut');
    await expect(endpoint.sendTo(a.welcome.sid as string, 1)).rejects.toMatchObject({
      code: 'SESSION_NOT_FOUND',
    });
    const b = await connect(url, resumeOf(a.welcome, 0));
    expect(b.welcome).toMatchObject({ resumed: false, reason: 'expired', ack: 0 });
    expect(b.welcome.sid).not.toBe(a.welcome.sid);
    expect(resumes).toMatchObject([
      {
        resumed: false,
        reason: 'expired',
        requestedSessionId: a.welcome.sid,
        sessionId: b.welcome.sid,
      },
    ]);
    expect(endpoint.stats().resumes.failed.expired).toBe(1);
  });

  it('a wrong token gives resumed:false, reason invalid, and leaves the session alone', async () => {
    const { url, endpoint } = await setup();
    const a = await connect(url);
    const b = await connect(url, { sid: a.welcome.sid as string, token: 'guess', seq: 0 });
    expect(b.welcome).toMatchObject({ resumed: false, reason: 'invalid' });
    expect(b.welcome.sid).not.toBe(a.welcome.sid);
    // The owner is not disturbed: still connected and still reachable.
    await endpoint.sendTo(a.welcome.sid as string, 'still yours');
    expect(await a.c.next((f) => f.t === 'msg')).toMatchObject({ data: 'still yours' });
    expect(endpoint.stats().resumes.failed.invalid).toBe(1);
  });

  it('a session of another endpoint or an unknown id gives reason unknown', async () => {
    const { url, tether, port } = await setup();
    tether.endpoint('/other');
    const a = await connect(url);
    const other = await connect(`ws://127.0.0.1:${port}/other`, resumeOf(a.welcome, 0));
    expect(other.welcome).toMatchObject({ resumed: false, reason: 'unknown' });
  });

  it('a resume while the old connection is open closes the old one with goodbye + 4010', async () => {
    const { url, endpoint } = await setup();
    const a = await connect(url);
    const sid = a.welcome.sid as string;
    await endpoint.sendTo(sid, 1);
    await a.c.next((f) => f.t === 'msg');
    const b = await connect(url, resumeOf(a.welcome, 1));
    expect(b.welcome).toMatchObject({ resumed: true, sid });
    const closed = await a.c.waitClosed();
    expect(closed.code).toBe(4010);
    expect(a.c.frames.find((f) => f.t === 'goodbye')).toMatchObject({ code: 4010 });
    // Delivery continues on the new connection only.
    await endpoint.sendTo(sid, 2);
    expect(await b.c.next((f) => f.t === 'msg')).toMatchObject({ seq: 2, data: 2 });
    expect(endpoint.connections.size).toBe(1);
  });

  it('retention overflow drops the oldest messages; a resume from before them is a gap', async () => {
    const { url, endpoint } = await setup({}, { kind: 'memory', sessionMaxMessages: 3 });
    const a = await connect(url);
    const sid = a.welcome.sid as string;
    await cut(a.c);
    await until(() => endpoint.connections.size === 0, 'server saw the cut');
    for (let n = 1; n <= 5; n += 1) await endpoint.sendTo(sid, n);
    expect(endpoint.stats().delivery.messagesDropped).toBe(2);
    // From 2 on, 3..5 are retained: fine. From 0, 1 and 2 are gone: a gap.
    const gap = await connect(url, resumeOf(a.welcome, 0));
    expect(gap.welcome).toMatchObject({ resumed: false, reason: 'gap', ack: 0 });
    expect(endpoint.stats().resumes.failed.gap).toBe(1);
    // The cut session is gone for good.
    await expect(endpoint.sendTo(sid, 6)).rejects.toMatchObject({ code: 'SESSION_NOT_FOUND' });
  });

  it('a resume from within the retained window replays exactly what follows', async () => {
    const { url, endpoint } = await setup({}, { kind: 'memory', sessionMaxMessages: 3 });
    const a = await connect(url);
    const sid = a.welcome.sid as string;
    await cut(a.c);
    await until(() => endpoint.connections.size === 0, 'server saw the cut');
    for (let n = 1; n <= 5; n += 1) await endpoint.sendTo(sid, n);
    const b = await connect(url, resumeOf(a.welcome, 2));
    expect(b.welcome.resumed).toBe(true);
    await b.c.next((f) => f.t === 'msg' && f.seq === 5);
    expect(reliable(b.c)).toEqual([
      [3, 3],
      [4, 4],
      [5, 5],
    ]);
  });

  it('acks trim the log; an ack beyond what was sent is BAD_ACK', async () => {
    const { url, endpoint } = await setup({}, { kind: 'memory' });
    const a = await connect(url);
    const sid = a.welcome.sid as string;
    for (let n = 1; n <= 4; n += 1) await endpoint.sendTo(sid, n);
    await a.c.next((f) => f.t === 'msg' && f.seq === 4);
    a.c.sendJson({ t: 'ack', seq: 3 });
    a.c.sendJson({ t: 'ack', seq: 9 });
    expect(await a.c.next((f) => f.t === 'error')).toMatchObject({ code: 'BAD_ACK' });
    const replay = await (server.store as Store).sessionMessagesAfter(sid, 3);
    expect(replay.messages.map((m) => m.seq)).toEqual([4]);
    // Acked messages are not replayed; a resume from below the ack is a gap.
    expect((await (server.store as Store).sessionMessagesAfter(sid, 0)).complete).toBe(false);
    expect(lastSeq(a.c)).toBe(4);
  });

  it('sendToUser reaches every session of the user on the endpoint, connected or not', async () => {
    const { url, endpoint } = await setup({
      authenticate: ({ request }) => ({
        user: new URL(request.url ?? '/', 'http://x').searchParams.get('u') ?? 'anon',
      }),
    });
    const alice1 = await connect(`${url}?u=alice`);
    const alice2 = await connect(`${url}?u=alice`);
    const bob = await connect(`${url}?u=bob`);
    await cut(alice2.c);
    await until(() => endpoint.connections.size === 2, 'server saw the cut');
    const results = await endpoint.sendToUser('alice', { hi: 'alice' });
    expect(results.map((r) => r.sessionId).sort()).toEqual(
      [alice1.welcome.sid, alice2.welcome.sid].sort(),
    );
    expect(await alice1.c.next((f) => f.t === 'msg')).toMatchObject({ data: { hi: 'alice' } });
    const back = await connect(`${url}?u=alice`, resumeOf(alice2.welcome, 0));
    expect(await back.c.next((f) => f.t === 'msg')).toMatchObject({ data: { hi: 'alice' } });
    expect(bob.c.frames.some((f) => f.t === 'msg')).toBe(false);
    expect(await endpoint.sendToUser('nobody', 1)).toEqual([]);
    // A session stays with its user: another user's connection cannot take it over.
    const thief = await connect(`${url}?u=mallory`, resumeOf(alice1.welcome, 0));
    expect(thief.welcome).toMatchObject({ resumed: false, reason: 'invalid' });
  });
});
