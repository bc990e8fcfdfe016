/**
 * The Store contract: the same assertions against the memory store, the
 * SQLite store (a real file in a temp dir) and the Redis store (a real
 * redis-server on a free loopback port, one key prefix per store).
 */
import { join } from 'node:path';
import { ManualClock, OptionError } from '@tether/common';
import { RedisStore } from '@tether/store-redis';
import {
  type RedisInstance,
  startRedis,
  systemDepMissing,
  type TempDir,
  tempDir,
} from '@tether/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  checkResume,
  MemoryStore,
  type Publication,
  SqliteStore,
  type Store,
  StoreError,
  type StoreOptions,
  tokenMatches,
} from '../src/store/index.js';

let tmp: TempDir | undefined;
let dir = '';
let fileNo = 0;
const open: Store[] = [];
const withRedis = !systemDepMissing('redis-server');
let redis: RedisInstance | undefined;

beforeAll(async () => {
  tmp = await tempDir('tether-store-contract-');
  dir = tmp.path;
  if (withRedis) redis = await startRedis();
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});
afterAll(async () => {
  await tmp?.cleanup();
  await redis?.stop();
});

type Factory = (options?: StoreOptions) => Store;

const factories: [string, Factory][] = [
  ['memory', (options = {}) => new MemoryStore({ sweepIntervalMs: 0, ...options })],
  [
    'sqlite',
    (options = {}) =>
      new SqliteStore({
        path: join(dir, `contract-${++fileNo}.db`),
        sweepIntervalMs: 0,
        ...options,
      }),
  ],
  ...(withRedis
    ? ([
        [
          'redis',
          (options = {}) =>
            new RedisStore({
              url: redis?.url ?? '',
              prefix: `contract-${++fileNo}:`,
              sweepIntervalMs: 0,
              ...options,
            }),
        ],
      ] satisfies [string, Factory][])
    : []),
];

async function rejection(promise: Promise<unknown>): Promise<StoreError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(StoreError);
  return err as StoreError;
}

const offsets = (pubs: Publication[]): number[] => pubs.map((p) => p.offset);
const T0 = 1_700_000_000_000;

describe.each(factories)('%s store contract', (_kind, factory) => {
  const make = (options?: StoreOptions): Store => {
    const store = factory(options);
    open.push(store);
    return store;
  };

  describe('sessions', () => {
    it('creates and reads a session, keeping only a hash of the token', async () => {
      const store = make();
      const created = await store.createSession({
        sid: 's1',
        token: 'secret-token',
        userId: 'u1',
        createdAt: T0,
      });
      expect(created).toMatchObject({
        sid: 's1',
        userId: 'u1',
        node: null,
        createdAt: T0,
        disconnectedAt: null,
        expiresAt: null,
        outSeq: 0,
        ackedSeq: 0,
        inSeq: 0,
      });
      expect(created.tokenHash).toMatch(/^[0-9a-f]{64}$/);
      expect(created.tokenHash).not.toContain('secret-token');
      expect(tokenMatches(created.tokenHash, 'secret-token')).toBe(true);
      expect(tokenMatches(created.tokenHash, 'secret-tokeN')).toBe(false);
      expect(await store.getSession('s1')).toEqual(created);
      expect(await store.getSession('nope')).toBeUndefined();
      const dup = await rejection(store.createSession({ sid: 's1', token: 'x', createdAt: T0 }));
      expect(dup.code).toBe('SESSION_EXISTS');
      expect(dup.retryable).toBe(false);
    });

    it('updates fields; ackedSeq and inSeq only move forward; tokens rotate', async () => {
      const store = make();
      await store.createSession({ sid: 's1', token: 't1', createdAt: T0 });
      let r = await store.updateSession('s1', { inSeq: 5, userId: 'u1', node: 'n1' });
      expect(r).toMatchObject({ inSeq: 5, userId: 'u1', node: 'n1' });
      r = await store.updateSession('s1', { inSeq: 3 });
      expect(r.inSeq).toBe(5);
      r = await store.updateSession('s1', {
        token: 't2',
        disconnectedAt: T0 + 1,
        expiresAt: T0 + 2,
      });
      expect(tokenMatches(r.tokenHash, 't2')).toBe(true);
      expect(tokenMatches(r.tokenHash, 't1')).toBe(false);
      expect(r).toMatchObject({ disconnectedAt: T0 + 1, expiresAt: T0 + 2, inSeq: 5, node: 'n1' });
      r = await store.updateSession('s1', { disconnectedAt: null, expiresAt: null, userId: null });
      expect(r).toMatchObject({ disconnectedAt: null, expiresAt: null, userId: null });
      // ackedSeq is clamped to outSeq (nothing sent yet).
      r = await store.updateSession('s1', { ackedSeq: 7 });
      expect(r.ackedSeq).toBe(0);
      const missing = await rejection(store.updateSession('nope', { inSeq: 1 }));
      expect(missing.code).toBe('SESSION_NOT_FOUND');
    });

    it('lists the sessions of a user and follows user changes', async () => {
      const store = make();
      await store.createSession({ sid: 'a', token: 't', userId: 'u1', createdAt: T0 });
      await store.createSession({ sid: 'b', token: 't', userId: 'u1', createdAt: T0 + 1 });
      await store.createSession({ sid: 'c', token: 't', userId: 'u2', createdAt: T0 + 2 });
      expect((await store.sessionsOfUser('u1')).map((s) => s.sid)).toEqual(['a', 'b']);
      await store.updateSession('a', { userId: 'u2' });
      expect((await store.sessionsOfUser('u1')).map((s) => s.sid)).toEqual(['b']);
      expect((await store.sessionsOfUser('u2')).map((s) => s.sid)).toEqual(['a', 'c']);
      expect(await store.deleteSession('c')).toBe(true);
      expect(await store.deleteSession('c')).toBe(false);
      expect((await store.sessionsOfUser('u2')).map((s) => s.sid)).toEqual(['a']);
      expect(await store.sessionsOfUser('nobody')).toEqual([]);
    });

    it('checks resumes: unknown, invalid token, expired, ok', async () => {
      const store = make();
      await store.createSession({ sid: 's1', token: 'tok', createdAt: T0 });
      expect(checkResume(await store.getSession('zz'), 'tok', T0)).toEqual({
        ok: false,
        reason: 'unknown',
      });
      const connected = await store.getSession('s1');
      expect(checkResume(connected, 'bad', T0)).toEqual({ ok: false, reason: 'invalid' });
      expect(checkResume(connected, 'tok', T0 + 10 ** 9).ok).toBe(true);
      await store.updateSession('s1', { disconnectedAt: T0 + 10, expiresAt: T0 + 120_010 });
      const gone = await store.getSession('s1');
      expect(checkResume(gone, 'tok', T0 + 120_009).ok).toBe(true);
      expect(checkResume(gone, 'tok', T0 + 120_010)).toEqual({ ok: false, reason: 'expired' });
      expect(checkResume(gone, 'bad', T0 + 120_010)).toEqual({ ok: false, reason: 'invalid' });
    });

    it('expires sessions past their window in a sweep, with their logs', async () => {
      const store = make();
      await store.createSession({ sid: 'live', token: 't', createdAt: T0 });
      await store.createSession({ sid: 'old', token: 't', createdAt: T0 });
      await store.appendSessionMessages('old', [{ seq: 1, payload: 'x' }]);
      await store.updateSession('old', { disconnectedAt: T0, expiresAt: T0 + 1000 });
      expect((await store.sweep(T0 + 999)).expiredSessions).toBe(0);
      expect(await store.getSession('old')).toBeDefined();
      expect((await store.sweep(T0 + 1000)).expiredSessions).toBe(1);
      expect(await store.getSession('old')).toBeUndefined();
      expect(await store.getSession('live')).toBeDefined();
      const stats = await store.stats();
      expect(stats).toMatchObject({ sessions: 1, sessionMessages: 0, kind: store.kind });
      // A later session with the same sid starts with an empty log.
      await store.createSession({ sid: 'old', token: 't', createdAt: T0 + 2000 });
      expect(await store.sessionMessagesAfter('old', 0)).toEqual({
        messages: [],
        complete: true,
        outSeq: 0,
      });
    });

    it('releases sessions left connected (all, or one node only)', async () => {
      const store = make();
      await store.createSession({ sid: 'a', token: 't', node: 'n1', createdAt: T0 });
      await store.createSession({ sid: 'b', token: 't', node: 'n2', createdAt: T0 });
      await store.createSession({ sid: 'c', token: 't', createdAt: T0 });
      await store.createSession({
        sid: 'd',
        token: 't',
        createdAt: T0,
        disconnectedAt: T0 + 1,
        expiresAt: T0 + 5,
      });
      expect(await store.releaseSessions(T0 + 10, T0 + 100, 'n1')).toBe(1);
      expect(await store.getSession('a')).toMatchObject({
        disconnectedAt: T0 + 10,
        expiresAt: T0 + 100,
      });
      expect((await store.getSession('b'))?.disconnectedAt).toBeNull();
      expect(await store.releaseSessions(T0 + 20, T0 + 200)).toBe(2);
      expect(await store.getSession('c')).toMatchObject({
        disconnectedAt: T0 + 20,
        expiresAt: T0 + 200,
      });
      expect(await store.getSession('d')).toMatchObject({
        disconnectedAt: T0 + 1,
        expiresAt: T0 + 5,
      });
    });
  });

  describe('session logs', () => {
    it('appends, replays after a seq, and trims on cumulative acks', async () => {
      const store = make();
      await store.createSession({ sid: 's', token: 't', createdAt: T0 });
      const res = await store.appendSessionMessages('s', [
        { seq: 1, payload: 'm1' },
        { seq: 2, payload: 'm2' },
        { seq: 3, payload: 'm3' },
      ]);
      expect(res).toEqual({ outSeq: 3, dropped: 0 });
      await store.appendSessionMessages('s', [
        { seq: 4, payload: 'm4' },
        { seq: 5, payload: 'm5' },
      ]);
      expect((await store.getSession('s'))?.outSeq).toBe(5);
      const all = await store.sessionMessagesAfter('s', 0);
      expect(all.complete).toBe(true);
      expect(all.outSeq).toBe(5);
      expect(all.messages).toEqual([1, 2, 3, 4, 5].map((n) => ({ seq: n, payload: `m${n}` })));
      expect((await store.sessionMessagesAfter('s', 3)).messages.map((m) => m.seq)).toEqual([4, 5]);
      expect((await store.sessionMessagesAfter('s', 1, 2)).messages.map((m) => m.seq)).toEqual([
        2, 3,
      ]);
      expect(await store.sessionMessagesAfter('s', 5)).toEqual({
        messages: [],
        complete: true,
        outSeq: 5,
      });

      await store.trimSessionMessages('s', 3);
      expect((await store.getSession('s'))?.ackedSeq).toBe(3);
      const afterAck = await store.sessionMessagesAfter('s', 3);
      expect(afterAck.complete).toBe(true);
      expect(afterAck.messages.map((m) => m.seq)).toEqual([4, 5]);
      // A client claiming less than it acked asks for trimmed messages: a gap.
      expect((await store.sessionMessagesAfter('s', 2)).complete).toBe(false);
      // Acks never go backwards and are clamped to outSeq.
      await store.trimSessionMessages('s', 1);
      expect((await store.getSession('s'))?.ackedSeq).toBe(3);
      await store.trimSessionMessages('s', 99);
      expect((await store.getSession('s'))?.ackedSeq).toBe(5);
      expect(await store.sessionMessagesAfter('s', 5)).toEqual({
        messages: [],
        complete: true,
        outSeq: 5,
      });
      expect((await store.stats()).sessionMessages).toBe(0);
      // Acking an unknown session is a no-op (it may have expired).
      await store.trimSessionMessages('gone', 3);
    });

    it('acks through updateSession too', async () => {
      const store = make();
      await store.createSession({ sid: 's', token: 't', createdAt: T0 });
      await store.appendSessionMessages('s', [
        { seq: 1, payload: 'a' },
        { seq: 2, payload: 'b' },
      ]);
      expect((await store.updateSession('s', { ackedSeq: 1 })).ackedSeq).toBe(1);
      expect((await store.sessionMessagesAfter('s', 1)).messages.map((m) => m.seq)).toEqual([2]);
      expect((await store.stats()).sessionMessages).toBe(1);
    });

    it('refuses sequence gaps, duplicates and unknown sessions', async () => {
      const store = make();
      await store.createSession({ sid: 's', token: 't', createdAt: T0 });
      await store.appendSessionMessages('s', [{ seq: 1, payload: 'a' }]);
      for (const bad of [
        [{ seq: 1, payload: 'dup' }],
        [{ seq: 3, payload: 'gap' }],
        [
          { seq: 2, payload: 'ok' },
          { seq: 4, payload: 'gap' },
        ],
      ]) {
        expect((await rejection(store.appendSessionMessages('s', bad))).code).toBe('SEQ_CONFLICT');
      }
      // A refused append writes nothing.
      expect((await store.getSession('s'))?.outSeq).toBe(1);
      expect((await store.sessionMessagesAfter('s', 0)).messages).toHaveLength(1);
      const missing = await rejection(store.appendSessionMessages('x', [{ seq: 1, payload: 'a' }]));
      expect(missing.code).toBe('SESSION_NOT_FOUND');
      expect(await store.sessionMessagesAfter('x', 0)).toEqual({
        messages: [],
        complete: false,
        outSeq: 0,
      });
      // A client claiming a seq the store never assigned cannot be served exactly.
      expect((await store.sessionMessagesAfter('s', 2)).complete).toBe(false);
    });

    it('drops the oldest messages past the count bound and reports the gap', async () => {
      const store = make({ sessionMaxMessages: 3 });
      await store.createSession({ sid: 's', token: 't', createdAt: T0 });
      const msgs = [1, 2, 3, 4, 5].map((seq) => ({ seq, payload: `p${seq}` }));
      expect(await store.appendSessionMessages('s', msgs)).toEqual({ outSeq: 5, dropped: 2 });
      const fromStart = await store.sessionMessagesAfter('s', 0);
      expect(fromStart.complete).toBe(false);
      expect(fromStart.messages.map((m) => m.seq)).toEqual([3, 4, 5]);
      expect((await store.sessionMessagesAfter('s', 1)).complete).toBe(false);
      expect((await store.sessionMessagesAfter('s', 2)).complete).toBe(true);
      expect(await store.appendSessionMessages('s', [{ seq: 6, payload: 'p6' }])).toEqual({
        outSeq: 6,
        dropped: 1,
      });
      expect((await store.sessionMessagesAfter('s', 3)).messages.map((m) => m.seq)).toEqual([
        4, 5, 6,
      ]);
      expect((await store.stats()).sessionMessages).toBe(3);
    });

    it('drops the oldest messages past the byte bound, keeping at least the newest', async () => {
      const store = make({ sessionMaxBytes: 10 });
      await store.createSession({ sid: 's', token: 't', createdAt: T0 });
      // 4 bytes each (é is 2 bytes in UTF-8): three of them exceed 10 bytes.
      const r = await store.appendSessionMessages('s', [
        { seq: 1, payload: 'aaaa' },
        { seq: 2, payload: 'bbé' },
        { seq: 3, payload: 'cccc' },
      ]);
      expect(r.dropped).toBe(1);
      expect((await store.sessionMessagesAfter('s', 1)).messages.map((m) => m.seq)).toEqual([2, 3]);
      const big = await store.appendSessionMessages('s', [{ seq: 4, payload: 'x'.repeat(50) }]);
      expect(big.dropped).toBe(2);
      const after = await store.sessionMessagesAfter('s', 3);
      expect(after).toEqual({
        messages: [{ seq: 4, payload: 'x'.repeat(50) }],
        complete: true,
        outSeq: 4,
      });
      // Byte accounting survives acks: after acking 4, small messages fit again.
      await store.trimSessionMessages('s', 4);
      const small = await store.appendSessionMessages('s', [
        { seq: 5, payload: 'aa' },
        { seq: 6, payload: 'bb' },
      ]);
      expect(small.dropped).toBe(0);
    });

    it('pages replays by bytes too, always at least one message', async () => {
      const store = make();
      await store.createSession({ sid: 's', token: 't', createdAt: T0 });
      // 6 bytes each in UTF-8 (3 characters of 2 bytes): a byte budget, not a character count.
      await store.appendSessionMessages(
        's',
        [1, 2, 3, 4, 5].map((seq) => ({ seq, payload: 'ééé' })),
      );
      const seqs = async (after: number, limit?: number, maxBytes?: number) =>
        (await store.sessionMessagesAfter('s', after, limit, maxBytes)).messages.map((m) => m.seq);
      expect(await seqs(0, undefined, 12)).toEqual([1, 2]);
      expect(await seqs(0, undefined, 17)).toEqual([1, 2]);
      expect(await seqs(2, 10, 18)).toEqual([3, 4, 5]);
      expect(await seqs(2, 1, 18)).toEqual([3]);
      // A message larger than the budget still goes out, alone.
      expect(await seqs(1, undefined, 1)).toEqual([2]);
      const page = await store.sessionMessagesAfter('s', 3, undefined, 6);
      expect(page).toEqual({ messages: [{ seq: 4, payload: 'ééé' }], complete: true, outSeq: 5 });
      expect((await rejection(store.sessionMessagesAfter('s', 0, undefined, -1))).code).toBe(
        'INVALID_ARGUMENT',
      );
    });
  });

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

    it('pages publications by bytes too (the stored frame when there is one), at least one', async () => {
      const store = make();
      // 8 bytes of data each in UTF-8, 5 characters.
      for (let i = 1; i <= 10; i++) await store.appendPublication('t', `"ééé"`, T0 + i);
      const { epoch } = await store.topicHead('t');
      const after = async (offset: number, limit?: number, maxBytes?: number) =>
        offsets(
          (await store.publicationsAfter('t', { epoch, offset }, limit, maxBytes)).publications,
        );
      expect(await after(0, undefined, 16)).toEqual([1, 2]);
      expect(await after(0, undefined, 23)).toEqual([1, 2]);
      expect(await after(4, 2, 1000)).toEqual([5, 6]);
      expect(await after(4, undefined, 1)).toEqual([5]);
      const page = await store.publicationsAfter('t', { epoch, offset: 8 }, undefined, 100);
      expect(page.recovered).toBe(true);
      expect(page.offset).toBe(10);
      expect(offsets(page.publications)).toEqual([9, 10]);
      // With a stored frame, the frame is what goes out, so it is what is counted: 61
      // bytes each here, against 1 byte of data.
      const encode = (p: Omit<Publication, 'frame'>) =>
        `{"offset":${p.offset},"pad":"${'x'.repeat(40)}"}`;
      const framed = await store.appendPublication('f', '1', T0, encode);
      await store.appendPublication('f', '2', T0, encode);
      const f = await store.publicationsAfter(
        'f',
        { epoch: framed.epoch, offset: 0 },
        undefined,
        122,
      );
      expect(offsets(f.publications)).toEqual([1, 2]);
      const f1 = await store.publicationsAfter(
        'f',
        { epoch: framed.epoch, offset: 0 },
        undefined,
        121,
      );
      expect(offsets(f1.publications)).toEqual([1]);
    });

    it('reads only the oldest page of the last N publications, by count and bytes', async () => {
      const store = make();
      for (let i = 1; i <= 10; i++) await store.appendPublication('t', `"ééé"`, T0 + i);
      const last = async (n: number, limit?: number, maxBytes?: number) => {
        const s = await store.lastPublications('t', n, limit, maxBytes);
        expect(s.offset).toBe(10);
        return offsets(s.publications);
      };
      expect(await last(5)).toEqual([6, 7, 8, 9, 10]);
      expect(await last(5, 2)).toEqual([6, 7]);
      expect(await last(5, undefined, 16)).toEqual([6, 7]);
      expect(await last(Number.MAX_SAFE_INTEGER, 3)).toEqual([1, 2, 3]);
      expect(await last(Number.MAX_SAFE_INTEGER, undefined, 1)).toEqual([1]);
      expect(await last(0, 3)).toEqual([]);
      expect((await rejection(store.lastPublications('t', 5, -1))).code).toBe('INVALID_ARGUMENT');
      expect((await rejection(store.lastPublications('t', 5, 1, 1.5))).code).toBe(
        'INVALID_ARGUMENT',
      );
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
});
