/**
 * Topic subscriptions on a ManualClock with a scripted server: resubscribe
 * from the position, exactly-once in-order publications, the gap signal,
 * refusals, unsubscribe, and publish.
 */
import type { SubscribedFrame } from '@tether/protocol';
import { describe, expect, it } from 'vitest';
import {
  DuplicateSubscriptionError,
  SequenceGapError,
  ServerError,
  type SubscriptionItem,
} from '../src/index.js';
import { harness } from './helpers/harness.js';

const subscribed = (
  topic: string,
  epoch: string,
  offset: number,
  replay = 0,
  recovered = true,
): SubscribedFrame => ({ t: 'subscribed', topic, epoch, offset, recovered, replay });
const pub = (topic: string, epoch: string, offset: number) =>
  ({ t: 'pub', topic, epoch, offset, data: `${topic}#${offset}` }) as never;

/** Drains what an iterator already holds (it never waits past the buffered items). */
async function take(it: AsyncIterator<SubscriptionItem>, n: number): Promise<SubscriptionItem[]> {
  const items: SubscriptionItem[] = [];
  for (let i = 0; i < n; i++) {
    const r = await it.next();
    if (r.done) break;
    items.push(r.value);
  }
  return items;
}

describe('subscribe', () => {
  it('sends sub once open (with last), and resubscribes from the last position after a reconnect', () => {
    const h = harness({ autoConnect: false, random: () => 0 });
    const sub = h.client.subscribe('chat', { last: 2 });
    expect(sub.state).toBe('subscribing');
    void h.client.connect();
    h.ws.last().accept();
    expect(h.ws.last().framesOfType('sub')).toEqual([{ t: 'sub', topic: 'chat', last: 2 }]);
    h.ws
      .last()
      .receive([
        subscribed('chat', 'E', 10, 2),
        pub('chat', 'E', 9),
        pub('chat', 'E', 10),
        pub('chat', 'E', 11),
      ]);
    expect(sub.state).toBe('subscribed');
    expect(sub.position).toEqual({ epoch: 'E', offset: 11 });
    expect(h.of('pub').map((p) => [p.offset, p.replayed])).toEqual([
      [9, true],
      [10, true],
      [11, false],
    ]);
    h.ws.last().drop();
    expect(sub.state).toBe('subscribing');
    h.clock.advance(500);
    h.ws.last().accept({ resumed: false }); // resubscribed whether or not the session resumed
    expect(h.ws.last().framesOfType('sub')).toEqual([
      { t: 'sub', topic: 'chat', from: { epoch: 'E', offset: 11 } },
    ]);
    void h.client.close();
  });

  it('resubscribes from the subscribe point when nothing was published yet', () => {
    const h = harness({ random: () => 0 });
    h.ws.last().accept();
    h.client.subscribe('t');
    h.ws.last().receive(subscribed('t', 'E', 7));
    h.ws.last().drop();
    h.clock.advance(500);
    h.ws.last().accept();
    expect(h.ws.last().framesOfType('sub')).toEqual([
      { t: 'sub', topic: 't', from: { epoch: 'E', offset: 7 } },
    ]);
    void h.client.close();
  });

  it('drops duplicate and older publications of a replay, delivering each once in order', async () => {
    const h = harness({ random: () => 0 });
    h.ws.last().accept();
    const sub = h.client.subscribe('t', { from: { epoch: 'E', offset: 3 } });
    const it = sub[Symbol.asyncIterator]();
    expect(h.ws.last().framesOfType('sub')[0]).toEqual({
      t: 'sub',
      topic: 't',
      from: { epoch: 'E', offset: 3 },
    });
    // A server that replays more than asked: offsets 2 and 3 were already seen.
    h.ws
      .last()
      .receive([
        subscribed('t', 'E', 5, 4),
        pub('t', 'E', 2),
        pub('t', 'E', 3),
        pub('t', 'E', 4),
        pub('t', 'E', 5),
        pub('t', 'E', 5),
        pub('t', 'E', 6),
      ]);
    const items = await take(it, 3);
    expect(items.map((i) => (i.type === 'pub' ? i.offset : i.type))).toEqual([4, 5, 6]);
    expect(h.of('gap')).toEqual([]);
    void h.client.close();
  });

  it('recovered: false is a gap event on the subscription, its iterator and the client, with positions', async () => {
    const h = harness({ random: () => 0 });
    h.ws.last().accept();
    const sub = h.client.subscribe('t');
    const it = sub[Symbol.asyncIterator]();
    const gaps: unknown[] = [];
    sub.on('gap', (g) => gaps.push(g));
    h.ws.last().receive([subscribed('t', 'E', 4), pub('t', 'E', 5)]);
    h.ws.last().drop();
    h.clock.advance(500);
    h.ws.last().accept();
    // History kept only 8..10: 6 and 7 are lost.
    h.ws
      .last()
      .receive([
        subscribed('t', 'E', 10, 3, false),
        pub('t', 'E', 8),
        pub('t', 'E', 9),
        pub('t', 'E', 10),
      ]);
    const expected = {
      type: 'gap',
      topic: 't',
      recovered: false,
      reason: 'trimmed',
      from: { epoch: 'E', offset: 5 },
      next: { epoch: 'E', offset: 8 },
      missed: 2,
    };
    expect(gaps).toEqual([expected]);
    expect(h.of('gap')).toEqual([expected]);
    const items = await take(it, 5);
    expect(items.map((i) => (i.type === 'pub' ? i.offset : i.type))).toEqual([5, 'gap', 8, 9, 10]);
    void h.client.close();
  });

  it('a new epoch is a gap with reason epoch, and delivery restarts in it', () => {
    const h = harness({ random: () => 0 });
    h.ws.last().accept();
    h.client.subscribe('t', { from: { epoch: 'OLD', offset: 40 } });
    h.ws
      .last()
      .receive([subscribed('t', 'NEW', 2, 2, false), pub('t', 'NEW', 1), pub('t', 'NEW', 2)]);
    expect(h.of('gap')).toEqual([
      expect.objectContaining({
        reason: 'epoch',
        from: { epoch: 'OLD', offset: 40 },
        next: { epoch: 'NEW', offset: 1 },
        missed: undefined,
      }),
    ]);
    expect(h.of('pub').map((p) => [p.epoch, p.offset])).toEqual([
      ['NEW', 1],
      ['NEW', 2],
    ]);
    void h.client.close();
  });

  it('asks for pubs frames and takes one as the pub frames it stands for: order, duplicates, time, gaps', async () => {
    const h = harness({ random: () => 0 });
    h.ws.last().accept();
    expect(h.ws.last().framesOfType('hello')[0]).toMatchObject({ pubs: true });
    const sub = h.client.subscribe('t', { from: { epoch: 'E', offset: 3 } });
    const it = sub[Symbol.asyncIterator]();
    const pubs = (offset: number, data: unknown[]) =>
      ({ t: 'pubs', topic: 't', epoch: 'E', offset, data, time: 1_700 }) as never;
    // Offsets 2 and 3 were seen already; 5 comes twice (a pub, then inside the pubs).
    h.ws
      .last()
      .receive([
        subscribed('t', 'E', 5, 3),
        pubs(2, ['t#2', 't#3', 't#4']),
        pub('t', 'E', 5),
        pubs(5, ['t#5', 't#6', 't#7']),
      ]);
    const items = await take(it, 4);
    expect(items.map((i) => (i.type === 'pub' ? [i.offset, i.data, i.replayed] : i.type))).toEqual([
      [4, 't#4', true],
      [5, 't#5', true],
      [6, 't#6', false],
      [7, 't#7', false],
    ]);
    expect(h.of('pub').map((p) => p.time)).toEqual([1_700, undefined, 1_700, 1_700]);
    expect(sub.position).toEqual({ epoch: 'E', offset: 7 });
    // A pubs frame that skips an offset is the same protocol error as a pub that does.
    h.ws.last().receive(pubs(9, ['t#9']));
    expect(h.of('error')[0]?.error).toBeInstanceOf(SequenceGapError);
    expect(h.client.state).toBe('reconnecting');
    void h.client.close();
  });

  it('a publication that skips an offset is a protocol error: reconnect and resubscribe from the last one', () => {
    const h = harness({ random: () => 0 });
    h.ws.last().accept();
    h.client.subscribe('t');
    h.ws.last().receive([subscribed('t', 'E', 0), pub('t', 'E', 1), pub('t', 'E', 3)]);
    expect(h.of('pub').map((p) => p.offset)).toEqual([1]);
    expect(h.of('error')[0]?.error).toBeInstanceOf(SequenceGapError);
    expect(h.client.state).toBe('reconnecting');
    h.clock.advance(500);
    h.ws.last().accept();
    expect(h.ws.last().framesOfType('sub')[0]).toMatchObject({ from: { epoch: 'E', offset: 1 } });
    void h.client.close();
  });

  it('a refused subscribe (FORBIDDEN) ends the subscription: error event, ready and iterator reject', async () => {
    const h = harness({ random: () => 0 });
    h.ws.last().accept();
    const sub = h.client.subscribe('secret');
    const it = sub[Symbol.asyncIterator]();
    const ready = sub.ready();
    h.ws.last().receive({
      t: 'error',
      code: 'FORBIDDEN',
      message: 'no',
      ref: { t: 'sub', topic: 'secret' },
    });
    await expect(ready).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(it.next()).rejects.toBeInstanceOf(ServerError);
    expect(sub.state).toBe('unsubscribed');
    expect(h.client.subscription('secret')).toBeUndefined();
    h.ws.last().drop();
    h.clock.advance(500);
    h.ws.last().accept();
    expect(h.ws.last().framesOfType('sub')).toEqual([]);
    void h.client.close();
  });

  it('RATE_LIMITED on a subscribe: sent again after rateLimitedRetryMs', () => {
    const h = harness({ rateLimitedRetryMs: 300 });
    h.ws.last().accept();
    h.client.subscribe('busy');
    h.ws.last().receive({
      t: 'error',
      code: 'RATE_LIMITED',
      message: 'slow',
      ref: { t: 'sub', topic: 'busy' },
    });
    h.clock.advance(300);
    expect(h.ws.last().framesOfType('sub')).toHaveLength(2);
    void h.client.close();
  });

  it('refuses a second live subscription to the same topic and invalid arguments', () => {
    const h = harness();
    h.client.subscribe('a');
    expect(() => h.client.subscribe('a')).toThrow(DuplicateSubscriptionError);
    expect(() => h.client.subscribe('bad topic')).toThrow(RangeError);
    expect(() => h.client.subscribe('b', { last: -1 })).toThrow(/last/);
    expect(() => h.client.subscribe('b', { from: { epoch: '', offset: 1 } })).toThrow(/from/);
    void h.client.close();
  });
});

describe('unsubscribe', () => {
  it('sends unsub, resolves on the answer, and ignores the old frames when resubscribing at once', async () => {
    const h = harness();
    h.ws.last().accept();
    const old = h.client.subscribe('t');
    const oldItems = old[Symbol.asyncIterator]();
    h.ws.last().receive([subscribed('t', 'E', 0), pub('t', 'E', 1)]);
    const left = old.unsubscribe();
    expect(old.state).toBe('unsubscribed');
    const fresh = h.client.subscribe('t');
    expect(h.ws.last().frames().slice(-2)).toEqual([
      { t: 'unsub', topic: 't' },
      { t: 'sub', topic: 't' },
    ]);
    // Still in flight for the old subscription, then the answer, then the new one.
    h.ws
      .last()
      .receive([
        pub('t', 'E', 2),
        { t: 'unsubscribed', topic: 't' },
        subscribed('t', 'E', 2),
        pub('t', 'E', 3),
      ]);
    await left;
    expect((await take(oldItems, 5)).map((i) => (i.type === 'pub' ? i.offset : i))).toEqual([1]);
    expect(fresh.state).toBe('subscribed');
    expect(h.of('pub').map((p) => p.offset)).toEqual([1, 3]);
    void h.client.close();
  });

  it('a server-side unsubscribe (with a reason) ends it for good', async () => {
    const h = harness({ random: () => 0 });
    h.ws.last().accept();
    const sub = h.client.subscribe('t');
    const ended = new Promise((resolve) => sub.on('unsubscribed', resolve));
    h.ws
      .last()
      .receive([subscribed('t', 'E', 0), { t: 'unsubscribed', topic: 't', reason: 'revoked' }]);
    await expect(ended).resolves.toEqual({ type: 'unsubscribed', topic: 't', reason: 'revoked' });
    h.ws.last().drop();
    h.clock.advance(500);
    h.ws.last().accept();
    expect(h.ws.last().framesOfType('sub')).toEqual([]);
    void h.client.close();
  });

  it('close() ends every subscription and its iterators', async () => {
    const h = harness();
    h.ws.last().accept();
    const sub = h.client.subscribe('t');
    const it = sub[Symbol.asyncIterator]();
    await h.client.close();
    expect(sub.state).toBe('unsubscribed');
    await expect(it.next()).resolves.toEqual({ value: undefined, done: true });
    expect(h.client.allSubscriptions()).toEqual([]);
    expect(h.clock.pending).toBe(0);
  });
});

describe('publish', () => {
  it('resolves with the position on published', async () => {
    const h = harness({ autoConnect: false });
    const position = h.client.publish('news', { headline: 'x' }); // queued until open
    void h.client.connect();
    h.ws.last().accept();
    const [frame] = h.ws.last().framesOfType('publish');
    expect(frame).toMatchObject({ t: 'publish', topic: 'news', data: { headline: 'x' } });
    h.ws.last().receive({
      t: 'published',
      topic: 'news',
      id: frame?.id as number,
      epoch: 'E',
      offset: 12,
    });
    await expect(position).resolves.toEqual({ epoch: 'E', offset: 12 });
    void h.client.close();
  });

  it('rejects with the error frame that names it (FORBIDDEN), and CONNECTION_LOST on a drop', async () => {
    const h = harness({ random: () => 0 });
    h.ws.last().accept();
    const forbidden = h.client.publish('locked', 1);
    const id = h.ws.last().framesOfType('publish')[0]?.id as number;
    h.ws.last().receive({
      t: 'error',
      code: 'FORBIDDEN',
      message: 'not allowed',
      ref: { t: 'publish', id, topic: 'locked' },
    });
    await expect(forbidden).rejects.toMatchObject({ name: 'ServerError', code: 'FORBIDDEN' });
    const lost = h.client.publish('open', 2);
    h.ws.last().drop();
    await expect(lost).rejects.toMatchObject({ code: 'CONNECTION_LOST', processed: false });
    expect(() => h.client.publish('bad topic', 1)).toThrow(RangeError);
    void h.client.close();
  });
});
