/**
 * Bounds on what a client can make the server read and hold (issue 9): replays are read
 * page by page, bounded in bytes as well as count, one page of a connection at a time,
 * and a connection holds at most `maxSubscriptionsPerConnection` subscriptions; the one
 * past the cap is refused without touching the store.
 */
import { join } from 'node:path';
import { ErrorCode } from '@tether/protocol';
import { createSqliteStore } from '@tether/store-sqlite';
import { type TempDir, tempDir } from '@tether/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { SERVER_DEFAULTS } from '../src/index.js';
import { MemoryStore, type Store } from '../src/store/index.js';
import { cut, hello, offsets, range, reliable, resumeOf } from './delivery-helpers.js';
import { type AnyFrame, type RawClient, type Started, startTether, until } from './helpers.js';

let started: Started | undefined;
let store: Store | undefined;
let tmp: TempDir | undefined;
const clients: RawClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await started?.tether.close({ drainTimeoutMs: 500 });
  await store?.close();
  await tmp?.cleanup();
  started = undefined;
  store = undefined;
  tmp = undefined;
});

/** What the spy saw of the replay reads. */
interface Reads {
  /** Each read's items and their bytes. */
  pages: { items: number; bytes: number }[];
  /** Most replay reads in flight at once. */
  maxInFlight: number;
}

/**
 * A memory store that records every replay read: how much it returned and how many ran
 * at once. Only the three reads a replay makes are watched.
 */
function spyStore(): { store: Store; reads: Reads } {
  const target = new MemoryStore({ sweepIntervalMs: 0 });
  const reads: Reads = { pages: [], maxInFlight: 0 };
  let inFlight = 0;
  const watched = new Set(['publicationsAfter', 'lastPublications', 'sessionMessagesAfter']);
  const spy = new Proxy(target, {
    get(obj, key, receiver) {
      const value = Reflect.get(obj, key, receiver) as unknown;
      if (typeof value !== 'function') return value;
      if (typeof key !== 'string' || !watched.has(key)) return value.bind(obj);
      return async (...args: unknown[]) => {
        inFlight += 1;
        reads.maxInFlight = Math.max(reads.maxInFlight, inFlight);
        try {
          const result = (await value.apply(obj, args)) as {
            publications?: { frame: string | null; data: string }[];
            messages?: { payload: string }[];
          };
          const texts =
            result.publications?.map((p) => p.frame ?? p.data) ??
            result.messages?.map((m) => m.payload) ??
            [];
          reads.pages.push({
            items: texts.length,
            bytes: texts.reduce((sum, t) => sum + Buffer.byteLength(t), 0),
          });
          return result;
        } finally {
          inFlight -= 1;
        }
      };
    },
  });
  return { store: spy, reads };
}

/** A page stays within the byte budget, or is one item (a single large one still goes). */
function expectPagesBounded(reads: Reads, budget: number): void {
  expect(reads.pages.length).toBeGreaterThan(0);
  for (const page of reads.pages) {
    if (page.items > 1) expect(page.bytes).toBeLessThanOrEqual(budget);
  }
}

async function connect(url: string, resume?: Parameters<typeof hello>[1]) {
  const h = await hello(url, resume);
  clients.push(h.c);
  return h;
}

const PAYLOAD = 'x'.repeat(30_000);

describe('replay budget', () => {
  it('reads topic replays page by page within the byte budget, one page of a connection at a time', async () => {
    const spied = spyStore();
    store = spied.store;
    started = await startTether({}, { store });
    const { url, tether } = started;
    const topics = ['a', 'b', 'c', 'd'];
    const count = 40; // 40 × 30 kB = 1.2 MB of history per topic
    let epoch = '';
    for (const topic of topics) {
      for (let n = 1; n <= count; n += 1) epoch = (await tether.publish(topic, PAYLOAD)).epoch;
    }
    epoch = (await store.topicHead('b')).epoch;
    const { c } = await connect(url);
    // A client that stops reading right after asking for everything, on four topics.
    c.ws.pause();
    c.sendJson({ t: 'sub', topic: 'a', last: Number.MAX_SAFE_INTEGER });
    c.sendJson({ t: 'sub', topic: 'b', from: { epoch, offset: 0 } });
    c.sendJson({ t: 'sub', topic: 'c', last: Number.MAX_SAFE_INTEGER });
    c.sendJson({ t: 'sub', topic: 'd', last: 25 });
    await until(() => spied.reads.pages.length >= 2, 'the replays started reading');
    c.ws.resume();
    for (const topic of ['a', 'b', 'c']) {
      await until(() => offsets(c, topic).length >= count, `replay of ${topic}`, 15_000);
    }
    await until(() => offsets(c, 'd').length >= 25, 'replay of d', 15_000);
    // Every replay complete, exactly once, in order.
    for (const topic of ['a', 'b', 'c']) expect(offsets(c, topic)).toEqual(range(1, count));
    expect(offsets(c, 'd')).toEqual(range(count - 24, count));
    const subscribed = c.frames.filter((f) => f.t === 'subscribed');
    expect(subscribed.map((f) => [f.topic, f.replay])).toEqual(
      expect.arrayContaining([
        ['a', count],
        ['b', count],
        ['c', count],
        ['d', 25],
      ]),
    );
    expectPagesBounded(spied.reads, SERVER_DEFAULTS.replayPageBytes);
    // Pages of one connection are read one after the other, never side by side.
    expect(spied.reads.maxInFlight).toBe(1);
    // Live publications follow the replay without a gap or a duplicate.
    await tether.publish('a', 'live');
    await until(() => offsets(c, 'a').length === count + 1, 'live after replay');
    expect(offsets(c, 'a')).toEqual(range(1, count + 1));
  });

  it('reads the session replay of a resume within the byte budget', async () => {
    const spied = spyStore();
    store = spied.store;
    started = await startTether({}, { store });
    const { url, endpoint } = started;
    const a = await connect(url);
    await cut(a.c);
    await until(() => endpoint.connections.size === 0, 'server saw the cut');
    // 900 kB: within the session log's 1 MiB retention, over three pages.
    const count = 30;
    for (let n = 1; n <= count; n += 1) await endpoint.sendTo(a.welcome.sid as string, PAYLOAD);
    const b = await connect(url, resumeOf(a.welcome, 0));
    expect(b.welcome.resumed).toBe(true);
    await until(() => reliable(b.c).length >= count, 'session replay', 15_000);
    expect(reliable(b.c).map(([seq]) => seq)).toEqual(range(1, count));
    expectPagesBounded(spied.reads, SERVER_DEFAULTS.replayPageBytes);
  });
});

describe('subscriptions per connection', () => {
  it('refuses the sub past maxSubscriptionsPerConnection with TOO_MANY_SUBSCRIPTIONS, writing nothing', async () => {
    tmp = await tempDir('tether-sub-cap-');
    store = createSqliteStore({
      kind: 'sqlite',
      path: join(tmp.path, 'cap.db'),
      sweepIntervalMs: 0,
    });
    started = await startTether({ rateLimit: false }, { store });
    const { url, tether } = started;
    const cap = SERVER_DEFAULTS.maxSubscriptionsPerConnection;
    expect(cap).toBe(1000);
    await tether.publish('t.0', 'published before');
    const { c } = await connect(url);
    // In batches, as a client resubscribing after a reconnect would send them.
    for (let from = 0; from < cap; from += 500) {
      c.sendJson(range(from, from + 499).map((n) => ({ t: 'sub', topic: `t.${n}` })));
    }
    await until(
      () => c.frames.filter((f) => f.t === 'subscribed').length === cap,
      'all subscribed',
      20_000,
    );
    const before = await store.stats();
    c.sendJson({ t: 'sub', topic: 'one.too.many', last: 10 });
    const refused = await c.next((f) => f.t === 'error');
    expect(refused).toMatchObject({
      code: ErrorCode.TOO_MANY_SUBSCRIPTIONS,
      ref: { t: 'sub', topic: 'one.too.many' },
    });
    const after = await store.stats();
    expect(after.topics).toBe(before.topics);
    expect(after.publications).toBe(before.publications);
    expect(after.transactions).toBe(before.transactions);
    // Subscribing again to a topic it holds is not a new subscription: still allowed.
    c.sendJson({ t: 'sub', topic: 't.0', last: 1 });
    const again = await c.next((f) => f.t === 'subscribed' && f.topic === 't.0');
    expect(again).toMatchObject({ replay: 1 });
    // After an unsub there is room for one more.
    c.sendJson({ t: 'unsub', topic: 't.1' });
    await c.next((f) => f.t === 'unsubscribed');
    c.sendJson({ t: 'sub', topic: 'one.more' });
    await c.next((f: AnyFrame) => f.t === 'subscribed' && f.topic === 'one.more');
    expect(tether.stats().topics.subscriptions).toBe(cap);
  });
});
