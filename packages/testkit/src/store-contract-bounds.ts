/**
 * Store contract: per-topic history bounds and the store as a whole.
 */
import { ManualClock, OptionError } from '@tether/common';
import type { StoreOptions } from '@tether/server/store';
import { describe, expect, it } from 'vitest';
import { type MakeStore, offsets, rejection, T0 } from './store-contract-helpers.js';

/** Store contract: per-topic history bounds and the store as a whole. */
export function historyBoundsContract(make: MakeStore): void {
  describe('per-topic history bounds (historyFor)', () => {
    /** `demo:*` keeps 3 publications and 1 s; every other topic the store-wide bounds. */
    const demo = (topic: string) =>
      topic.startsWith('demo:') ? { maxCount: 3, maxAgeMs: 1000 } : undefined;

    it('trims by count per topic; other topics keep the store-wide bound', async () => {
      const asked: string[] = [];
      const store = make({
        historyMaxCount: 5,
        historyFor: (topic) => {
          asked.push(topic);
          return demo(topic);
        },
      });
      for (let i = 1; i <= 8; i++) {
        await store.appendPublication('demo:a', String(i), T0 + i);
        await store.appendPublication('other', String(i), T0 + i);
      }
      const d = await store.lastPublications('demo:a', 100);
      expect(offsets(d.publications)).toEqual([6, 7, 8]);
      const o = await store.lastPublications('other', 100);
      expect(offsets(o.publications)).toEqual([4, 5, 6, 7, 8]);
      expect(
        (await store.publicationsAfter('demo:a', { epoch: d.epoch, offset: 4 })).recovered,
      ).toBe(false);
      expect(
        (await store.publicationsAfter('other', { epoch: o.epoch, offset: 3 })).recovered,
      ).toBe(true);
      // Cached per topic name: asked once per topic, not once per append.
      expect(asked.filter((t) => t === 'demo:a')).toHaveLength(1);
      expect(asked.filter((t) => t === 'other')).toHaveLength(1);
    });

    it('fills absent fields from the store-wide bounds; maxCount 0 keeps none', async () => {
      const store = make({
        historyMaxCount: 4,
        historyFor: (topic) =>
          topic === 'live' ? { maxCount: 0 } : topic === 'age-only' ? { maxAgeMs: 50 } : undefined,
      });
      for (let i = 1; i <= 6; i++) {
        await store.appendPublication('live', String(i), T0);
        await store.appendPublication('age-only', String(i), T0);
      }
      expect((await store.lastPublications('live', 10)).publications).toEqual([]);
      expect((await store.topicHead('live')).offset).toBe(6);
      expect(offsets((await store.lastPublications('age-only', 10)).publications)).toEqual([
        3, 4, 5, 6,
      ]);
    });

    it('trims by age per topic in the sweep (injected clock)', async () => {
      const clock = new ManualClock(T0);
      const store = make({ clock, historyMaxAgeMs: 10_000, historyFor: demo });
      for (let i = 1; i <= 2; i++) {
        await store.appendPublication('demo:a', String(i), clock.now());
        await store.appendPublication('demo:b', String(i), clock.now());
        await store.appendPublication('other', String(i), clock.now());
      }
      clock.advance(600);
      await store.appendPublication('demo:a', '3', clock.now());
      expect((await store.sweep()).trimmedPublications).toBe(0);
      clock.advance(500); // demo's first two are 1100 ms old: past its 1 s, far under 10 s
      const swept = await store.sweep();
      expect(swept.trimmedPublications).toBe(4);
      expect(offsets((await store.lastPublications('demo:a', 10)).publications)).toEqual([3]);
      expect((await store.lastPublications('demo:b', 10)).publications).toEqual([]);
      expect(offsets((await store.lastPublications('other', 10)).publications)).toEqual([1, 2]);
      clock.advance(9000); // 'other' is now 10.1 s old, demo:a's last 9.5 s
      expect((await store.sweep()).trimmedPublications).toBe(3);
      expect((await store.lastPublications('other', 10)).publications).toEqual([]);
      expect(await store.topicHead('demo:a')).toMatchObject({ offset: 3 });
    });

    it('keeps a topic longer than the store-wide age bound when its namespace says so', async () => {
      const clock = new ManualClock(T0);
      const store = make({
        clock,
        historyMaxAgeMs: 1000,
        historyFor: (topic) => (topic.startsWith('keep:') ? { maxAgeMs: 60_000 } : undefined),
      });
      await store.appendPublication('keep:x', 'k', clock.now());
      await store.appendPublication('other', 'o', clock.now());
      clock.advance(5000);
      expect((await store.sweep()).trimmedPublications).toBe(1);
      expect(offsets((await store.lastPublications('keep:x', 10)).publications)).toEqual([1]);
      clock.advance(60_000);
      expect((await store.sweep()).trimmedPublications).toBe(1);
      expect((await store.lastPublications('keep:x', 10)).publications).toEqual([]);
    });

    it('validates historyFor and what it returns, naming the option', async () => {
      const err = (() => {
        try {
          make({ historyFor: 'demo:*' as unknown as StoreOptions['historyFor'] });
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(err).toBeInstanceOf(OptionError);
      expect((err as OptionError).option).toBe('store.historyFor');
      const store = make({ historyFor: () => ({ maxCount: -1 }) });
      const bad = await rejection(store.appendPublication('t', '1', T0));
      expect(bad.message).toContain('store.historyFor("t").maxCount');
      expect((await store.topicHead('t')).offset).toBe(0);
    });
  });

  describe('behaviour as a whole', () => {
    it('applies operations in call order (a read sees earlier unawaited writes)', async () => {
      const store = make();
      const head = await store.topicHead('t');
      const appended = store.appendPublication('t', 'a', T0);
      const created = store.createSession({ sid: 's', token: 't', createdAt: T0 });
      const replay = store.publicationsAfter('t', head);
      const session = store.getSession('s');
      expect(offsets((await replay).publications)).toEqual([1]);
      expect((await session)?.sid).toBe('s');
      await Promise.all([appended, created]);
    });

    it('rejects malformed arguments with INVALID_ARGUMENT', async () => {
      const store = make();
      const { epoch } = await store.topicHead('t');
      const cases: Promise<unknown>[] = [
        store.publicationsAfter('t', { epoch, offset: -1 }),
        store.publicationsAfter('t', { epoch, offset: 1.5 }),
        store.lastPublications('t', -2),
        store.topicHead(''),
        store.appendPublication('t', 'x', Number.NaN),
        store.createSession({ sid: '', token: 't', createdAt: T0 }),
        store.createSession({ sid: 'x', token: '', createdAt: T0 }),
      ];
      for (const c of cases) expect((await rejection(c)).code).toBe('INVALID_ARGUMENT');
      // Refused before they reach the backend, and still counted as failed operations.
      expect((await store.stats()).failedOperations).toBe(cases.length);
      // The store still works afterwards.
      expect((await store.appendPublication('t', 'ok', T0)).offset).toBe(1);
    });

    it('reports stats', async () => {
      const store = make();
      await store.createSession({ sid: 's', token: 't', createdAt: T0 });
      await store.appendSessionMessages('s', [{ seq: 1, payload: 'a' }]);
      await store.appendPublication('t1', 'a', T0);
      await store.appendPublication('t2', 'b', T0);
      const stats = await store.stats();
      expect(stats).toMatchObject({
        kind: store.kind,
        sessions: 1,
        sessionMessages: 1,
        topics: 2,
        publications: 2,
        failedOperations: 0,
        pendingOperations: 0,
      });
      expect(stats.operations).toBeGreaterThanOrEqual(4);
    });

    it('refuses operations once closed; close is idempotent', async () => {
      const store = make();
      await store.close();
      await store.close();
      const err = await rejection(store.topicHead('t'));
      expect(err.code).toBe('STORE_CLOSED');
      expect((await rejection(store.getSession('s'))).code).toBe('STORE_CLOSED');
    });
  });
}
