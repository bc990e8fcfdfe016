/**
 * Store contract: topic histories.
 */
import { ManualClock } from '@tether/common';
import { StoreError } from '@tether/server/store';
import { describe, expect, it } from 'vitest';
import { type MakeStore, offsets, T0 } from './store-contract-helpers.js';

/** Store contract: topic histories. */
export function topicContract(make: MakeStore): void {
  describe('topics', () => {
    it('assigns contiguous offsets from 1 in call order, within one epoch', async () => {
      const store = make();
      const pubs = await Promise.all(
        Array.from({ length: 50 }, (_, i) => store.appendPublication('t', `"${i}"`, T0 + i)),
      );
      expect(offsets(pubs)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
      expect(pubs.map((p) => p.data)).toEqual(Array.from({ length: 50 }, (_, i) => `"${i}"`));
      expect(new Set(pubs.map((p) => p.epoch)).size).toBe(1);
      expect(await store.topicHead('t')).toEqual({ epoch: pubs[0]?.epoch, offset: 50 });
      // Topics are independent.
      const other = await store.appendPublication('u', '1', T0);
      expect(other.offset).toBe(1);
      expect(other.epoch).not.toBe(pubs[0]?.epoch);
    });

    it('starts a history (epoch, offset 0) on first look, and keeps that epoch', async () => {
      const store = make();
      const head = await store.topicHead('fresh');
      expect(head.offset).toBe(0);
      expect(head.epoch).toMatch(/^[A-Za-z0-9_-]{8,}$/);
      expect(await store.publicationsAfter('fresh', head)).toEqual({
        recovered: true,
        epoch: head.epoch,
        offset: 0,
        publications: [],
      });
      const pub = await store.appendPublication('fresh', '{"a":1}', T0);
      expect(pub).toEqual({ epoch: head.epoch, offset: 1, time: T0, data: '{"a":1}', frame: null });
      const replay = await store.publicationsAfter('fresh', head);
      expect(replay.recovered).toBe(true);
      expect(replay.publications).toEqual([pub]);
      const fromLast = await store.lastPublications('other-fresh', 5);
      expect(fromLast.offset).toBe(0);
      expect(fromLast.publications).toEqual([]);
    });

    it('answers "after (epoch, offset)" with exactly the missing publications', async () => {
      const store = make();
      for (let i = 1; i <= 10; i++) await store.appendPublication('t', String(i), T0 + i);
      const { epoch } = await store.topicHead('t');
      const after3 = await store.publicationsAfter('t', { epoch, offset: 3 });
      expect(after3.recovered).toBe(true);
      expect(after3.offset).toBe(10);
      expect(offsets(after3.publications)).toEqual([4, 5, 6, 7, 8, 9, 10]);
      expect(after3.publications.map((p) => p.data)).toEqual(['4', '5', '6', '7', '8', '9', '10']);
      expect(
        offsets((await store.publicationsAfter('t', { epoch, offset: 0 })).publications),
      ).toHaveLength(10);
      const paged = await store.publicationsAfter('t', { epoch, offset: 3 }, 2);
      expect(paged.recovered).toBe(true);
      expect(offsets(paged.publications)).toEqual([4, 5]);
      expect((await store.publicationsAfter('t', { epoch, offset: 10 })).publications).toEqual([]);
      expect((await store.publicationsAfter('t', { epoch, offset: 10 })).recovered).toBe(true);
      // Beyond the head: offsets this history never assigned.
      expect((await store.publicationsAfter('t', { epoch, offset: 11 })).recovered).toBe(false);
      // Another epoch: the history the position belongs to is gone.
      const wrong = await store.publicationsAfter('t', { epoch: 'other-epoch', offset: 3 });
      expect(wrong).toEqual({ recovered: false, epoch, offset: 10, publications: [] });
    });

    it('trims by count: older positions are not recovered', async () => {
      const store = make({ historyMaxCount: 5 });
      for (let i = 1; i <= 12; i++) await store.appendPublication('t', String(i), T0 + i);
      const { epoch } = await store.topicHead('t');
      expect((await store.stats()).publications).toBe(5);
      const ok = await store.publicationsAfter('t', { epoch, offset: 7 });
      expect(ok.recovered).toBe(true);
      expect(offsets(ok.publications)).toEqual([8, 9, 10, 11, 12]);
      const gap = await store.publicationsAfter('t', { epoch, offset: 6 });
      expect(gap).toEqual({ recovered: false, epoch, offset: 12, publications: [] });
      expect(offsets((await store.lastPublications('t', 3)).publications)).toEqual([10, 11, 12]);
      expect(offsets((await store.lastPublications('t', 100)).publications)).toEqual([
        8, 9, 10, 11, 12,
      ]);
      expect((await store.lastPublications('t', 0)).publications).toEqual([]);
      expect(await store.lastPublications('t', 1)).toMatchObject({ epoch, offset: 12 });
    });

    it('keeps no history with historyMaxCount 0, but offsets still advance', async () => {
      const store = make({ historyMaxCount: 0 });
      await store.appendPublication('t', 'a', T0);
      const p2 = await store.appendPublication('t', 'b', T0);
      expect(p2.offset).toBe(2);
      const { epoch } = p2;
      expect((await store.publicationsAfter('t', { epoch, offset: 2 })).recovered).toBe(true);
      expect((await store.publicationsAfter('t', { epoch, offset: 1 })).recovered).toBe(false);
      expect((await store.lastPublications('t', 5)).publications).toEqual([]);
    });

    it('trims by age in the sweep (injected clock)', async () => {
      const clock = new ManualClock(T0);
      const store = make({ clock, historyMaxAgeMs: 1000 });
      for (let i = 1; i <= 3; i++) await store.appendPublication('t', String(i), clock.now());
      clock.advance(600);
      for (let i = 4; i <= 5; i++) await store.appendPublication('t', String(i), clock.now());
      const { epoch } = await store.topicHead('t');
      expect((await store.sweep()).trimmedPublications).toBe(0);
      clock.advance(500); // the first three are now 1100 ms old, the others 500 ms
      const swept = await store.sweep();
      expect(swept.trimmedPublications).toBe(3);
      expect(swept.droppedTopics).toBe(0);
      expect(
        offsets((await store.publicationsAfter('t', { epoch, offset: 3 })).publications),
      ).toEqual([4, 5]);
      expect((await store.publicationsAfter('t', { epoch, offset: 2 })).recovered).toBe(false);
      expect(await store.topicHead('t')).toEqual({ epoch, offset: 5 });
    });

    it('forgets an idle empty topic: its next history has a new epoch', async () => {
      const clock = new ManualClock(T0);
      const store = make({ clock, historyMaxAgeMs: 1000, topicIdleMs: 5000 });
      const first = await store.appendPublication('t', 'x', clock.now());
      clock.advance(2000);
      expect(await store.sweep()).toMatchObject({ trimmedPublications: 1, droppedTopics: 0 });
      expect(await store.topicHead('t')).toEqual({ epoch: first.epoch, offset: 1 });
      clock.advance(4000);
      expect((await store.sweep()).droppedTopics).toBe(1);
      const head = await store.topicHead('t');
      expect(head.offset).toBe(0);
      expect(head.epoch).not.toBe(first.epoch);
      const stale = await store.publicationsAfter('t', { epoch: first.epoch, offset: 1 });
      expect(stale.recovered).toBe(false);
    });

    it('stores the encoded frame so replay sends the same bytes', async () => {
      const store = make();
      const encode = (p: { epoch: string; offset: number; time: number; data: string }): string =>
        `{"t":"pub","topic":"t","epoch":"${p.epoch}","offset":${p.offset},"data":${p.data},"time":${p.time}}`;
      const live = await store.appendPublication('t', '{"n":1}', T0, encode);
      expect(live.frame).toBe(
        `{"t":"pub","topic":"t","epoch":"${live.epoch}","offset":1,"data":{"n":1},"time":${T0}}`,
      );
      expect(JSON.parse(live.frame ?? '')).toMatchObject({ offset: 1, data: { n: 1 } });
      const replay = await store.publicationsAfter('t', { epoch: live.epoch, offset: 0 });
      expect(replay.publications[0]?.frame).toBe(live.frame);
      expect((await store.lastPublications('t', 1)).publications[0]?.frame).toBe(live.frame);
    });

    it('does not consume an offset when the encoder throws', async () => {
      const store = make();
      const boom = new Error('encoder failed');
      const failed = await store
        .appendPublication('t', '1', T0, () => {
          throw boom;
        })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(failed).toBeInstanceOf(StoreError);
      expect((failed as StoreError).code).toBe('STORE_FAILED');
      expect((failed as StoreError).cause).toBe(boom);
      const next = await store.appendPublication('t', '2', T0);
      expect(next.offset).toBe(1);
    });
  });
}
