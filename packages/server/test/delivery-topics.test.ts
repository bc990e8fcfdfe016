/**
 * Topics with history: replay from a position (exact), `last` N, the explicit gap signal
 * (`recovered: false`), publications racing a subscribe (no gap, no duplicate), and
 * replays larger than the slow-consumer limit (paged as the socket drains).
 */
import { join } from 'node:path';
import { SqliteStore } from '@tether/store-sqlite';
import { tempDir } from '@tether/testkit';
import { describe, expect, it, onTestFinished } from 'vitest';
import { TopicError } from '../src/index.js';
import type { createStore } from '../src/store/index.js';
import { deliveryServer, offsets, range } from './delivery-helpers.js';
import { type AnyFrame, type RawClient, type Started, type startTether, until } from './helpers.js';

const server = deliveryServer();

function setup(
  options: Parameters<typeof startTether>[0] = {},
  store: Parameters<typeof createStore>[0] = 'memory',
): Promise<Started> {
  return server.setup(options, store);
}

async function connect(url: string): Promise<RawClient> {
  return (await server.connect(url)).c;
}

/** Subscribes and returns the `subscribed` frame. */
async function subscribe(c: RawClient, frame: Record<string, unknown>): Promise<AnyFrame> {
  c.sendJson({ t: 'sub', ...frame });
  return c.next((f) => f.t === 'subscribed' && f.topic === frame.topic);
}

describe('topic history', () => {
  it('replays exactly the publications after a position, then live ones', async () => {
    const { url, tether } = await setup();
    let epoch = '';
    for (let n = 1; n <= 10; n += 1) epoch = (await tether.publish('t', { n })).epoch;
    const c = await connect(url);
    const sub = await subscribe(c, { topic: 't', from: { epoch, offset: 6 } });
    expect(sub).toMatchObject({ epoch, offset: 10, recovered: true, replay: 4 });
    await tether.publish('t', { n: 11 });
    await until(() => offsets(c, 't').length === 5, 'replay and one live');
    expect(offsets(c, 't')).toEqual([7, 8, 9, 10, 11]);
    const data = c.frames.filter((f) => f.t === 'pub').map((f) => (f.data as { n: number }).n);
    expect(data).toEqual([7, 8, 9, 10, 11]);
    // The `subscribed` frame comes before its replay.
    const types = c.frames.map((f) => f.t);
    expect(types.indexOf('subscribed')).toBeLessThan(types.indexOf('pub'));
  });

  it('says recovered: false for a trimmed position and replays what is still retained', async () => {
    const { url, tether } = await setup({}, { kind: 'memory', historyMaxCount: 5 });
    let epoch = '';
    for (let n = 1; n <= 20; n += 1) epoch = (await tether.publish('t', n)).epoch;
    const c = await connect(url);
    const sub = await subscribe(c, { topic: 't', from: { epoch, offset: 3 } });
    expect(sub).toMatchObject({ epoch, offset: 20, recovered: false, replay: 5 });
    await until(() => offsets(c, 't').length === 5, 'retained replayed');
    expect(offsets(c, 't')).toEqual([16, 17, 18, 19, 20]);
    const other = await subscribe(c, { topic: 't', from: { epoch: 'gone', offset: 19 } });
    expect(other).toMatchObject({ recovered: false, offset: 20 });
  });

  it('delivers the last N first with last: N', async () => {
    const { url, tether } = await setup();
    for (let n = 1; n <= 8; n += 1) await tether.publish('t', n);
    const c = await connect(url);
    const sub = await subscribe(c, { topic: 't', last: 3 });
    expect(sub).toMatchObject({ offset: 8, recovered: true, replay: 3 });
    await tether.publish('t', 9);
    await until(() => offsets(c, 't').length === 4, 'last 3 and one live');
    expect(offsets(c, 't')).toEqual([6, 7, 8, 9]);
    const all = await connect(url);
    expect(await subscribe(all, { topic: 't', last: 100 })).toMatchObject({ replay: 9 });
  });

  it('sends the same bytes live and on replay', async () => {
    const { url, tether } = await setup();
    const live = await connect(url);
    const sub = await subscribe(live, { topic: 't' });
    await tether.publish('t', { text: 'é ✓' });
    await live.next((f) => f.t === 'pub');
    const late = await connect(url);
    await subscribe(late, { topic: 't', from: { epoch: sub.epoch, offset: 0 } });
    await late.next((f) => f.t === 'pub');
    const text = (c: RawClient) => {
      const frames = c.messages.flatMap((m) => {
        const parsed = JSON.parse(m) as unknown;
        return (Array.isArray(parsed) ? parsed : [parsed]).map((f) => JSON.stringify(f));
      });
      return frames.find((f) => f.includes('"t":"pub"'));
    };
    expect(text(late)).toBe(text(live));
    await expect(tether.publish('bad topic', 1)).rejects.toBeInstanceOf(TopicError);
  });

  it.each(['memory', 'sqlite'] as const)(
    'publications racing subscribes (%s store): each subscriber sees a contiguous sequence, no gap, no duplicate',
    async (kind) => {
      const dir = kind === 'sqlite' ? await tempDir('tether-race-') : undefined;
      const { url, tether } = await setup(
        { rateLimit: false },
        dir === undefined
          ? { kind: 'memory', historyMaxCount: 50_000 }
          : new SqliteStore({ path: join(dir.path, 'race.db'), historyMaxCount: 50_000 }),
      );
      onTestFinished(() => dir?.cleanup());
      let running = true;
      let published = 0;
      let epoch = '';
      // A publisher that never waits for its publications: they overlap every subscribe.
      const publisher = (async () => {
        const stopAt = Date.now() + 20_000;
        while (running && published < 40_000 && Date.now() < stopAt) {
          for (let i = 0; i < 2; i += 1) {
            published += 1;
            void tether.publish('race', published).then((r) => {
              epoch = r.epoch;
            });
          }
          await new Promise((resolve) => setImmediate(resolve));
        }
      })();
      try {
        await until(() => epoch !== '', 'first publication');
        const iterations = 24;
        for (let i = 0; i < iterations; i += 1) {
          const c = await connect(url);
          const mode = i % 3;
          const fromOffset = Math.max(0, published - 40 - i);
          const request =
            mode === 0
              ? { topic: 'race' }
              : mode === 1
                ? { topic: 'race', from: { epoch, offset: fromOffset } }
                : { topic: 'race', last: 7 };
          const sub = await subscribe(c, request);
          expect(sub.recovered).toBe(true);
          const head = sub.offset as number;
          await until(
            () => offsets(c, 'race').some((o) => o >= head + 30),
            `live after replay (iteration ${i}, head ${head}, published ${published}, got ${offsets(c, 'race').slice(-3).join(',')})`,
          );
          const got = offsets(c, 'race');
          const first = mode === 0 ? head + 1 : mode === 1 ? fromOffset + 1 : head - 6;
          expect(got).toEqual(range(first, got[got.length - 1] ?? 0));
          expect(got.filter((o) => o <= head)).toHaveLength(sub.replay as number);
          c.close();
        }
      } finally {
        running = false;
        await publisher;
      }
    },
  );

  it('pages a replay larger than the slow-consumer limit as the socket drains, without a 4009', async () => {
    const limit = 64 * 1024;
    const { url, tether, endpoint } = await setup(
      { slowConsumerBytes: limit },
      { kind: 'memory', historyMaxCount: 5_000 },
    );
    const pad = 'p'.repeat(1_000);
    let epoch = '';
    for (let n = 1; n <= 1_200; n += 1) {
      const r = tether.publish('big', { n, pad });
      if (n % 100 === 0) epoch = (await r).epoch;
    }
    const c = await connect(url);
    const sub = await subscribe(c, { topic: 'big', from: { epoch, offset: 0 } });
    expect(sub).toMatchObject({ recovered: true, replay: 1_200 });
    await until(() => offsets(c, 'big').length === 1_200, 'whole replay', 15_000);
    expect(offsets(c, 'big')).toEqual(range(1, 1_200));
    expect(endpoint.stats().slowConsumers).toBe(0);
    expect(endpoint.stats().delivery.publicationsReplayed).toBe(1_200);
  });
});
