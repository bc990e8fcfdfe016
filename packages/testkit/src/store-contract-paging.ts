/** Store contract: replay reads are paged by bytes as well as by count. */
import type { Publication } from '@tether/server/store';
import { describe, expect, it } from 'vitest';
import { type MakeStore, offsets, rejection, T0 } from './store-contract-helpers.js';

/** Store contract: pages of session replays and topic catch-ups, by count and bytes. */
export function pagingContract(make: MakeStore): void {
  describe('paged reads', () => {
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

    it('pages publications by bytes too (the stored frame when there is one), at least one', async () => {
      const store = make();
      // 8 bytes of data each in UTF-8, 5 characters.
      for (let i = 1; i <= 10; i++) await store.appendPublication('t', `"ééé"`, T0 + i);
      const { epoch } = await store.topicHead('t');
      const pageAfter = async (offset: number, limit?: number, maxBytes?: number) =>
        offsets(
          (await store.publicationsAfter('t', { epoch, offset }, limit, maxBytes)).publications,
        );
      expect(await pageAfter(0, undefined, 16)).toEqual([1, 2]);
      expect(await pageAfter(0, undefined, 23)).toEqual([1, 2]);
      expect(await pageAfter(4, 2, 1000)).toEqual([5, 6]);
      expect(await pageAfter(4, undefined, 1)).toEqual([5]);
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
  });
}
