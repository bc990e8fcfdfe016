import { checkResume, tokenMatches } from '@tether/server/store';
import { describe, expect, it } from 'vitest';
import { type MakeStore, rejection, T0 } from './store-contract-helpers.js';

/** Store contract: sessions and session logs. */
export function sessionContract(make: MakeStore): void {
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
  });
}
