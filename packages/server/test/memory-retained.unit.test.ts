/**
 * The memory store's retained window (issue 13): dropping a full history's oldest
 * publication no longer moves the whole array; what it keeps must not change.
 */
import { describe, expect, it } from 'vitest';
import { Retained } from '../src/store/memory-topics.js';
import type { Publication } from '../src/store/store.js';

const pub = (offset: number): Publication =>
  ({ offset, epoch: 'e', time: offset, data: `${offset}` }) as unknown as Publication;

const offsets = (r: Retained, from = 0): number[] => [...r.from(from)].map((p) => p.offset);

describe('Retained', () => {
  it('keeps the newest publications in order while the oldest are dropped one at a time', () => {
    const r = new Retained();
    const max = 100;
    // Far past several compactions (each once half the array is dropped).
    for (let offset = 1; offset <= 1_000; offset += 1) {
      r.push(pub(offset));
      if (r.length > max) r.dropOldest(r.length - max);
      const oldest = Math.max(1, offset - max + 1);
      expect(r.length).toBe(offset - oldest + 1);
      expect(r.at(0)?.offset).toBe(oldest);
      expect(r.at(r.length - 1)?.offset).toBe(offset);
      expect(r.at(r.length)).toBeUndefined();
    }
    expect(offsets(r)).toEqual(Array.from({ length: max }, (_, i) => 901 + i));
    expect(offsets(r, 95)).toEqual([996, 997, 998, 999, 1_000]);
    expect(offsets(r, 100)).toEqual([]);
  });

  it('drops several at once, all of them, and starts again empty', () => {
    const r = new Retained();
    for (let offset = 1; offset <= 10; offset += 1) r.push(pub(offset));
    r.dropOldest(3);
    expect(offsets(r)).toEqual([4, 5, 6, 7, 8, 9, 10]);
    expect(r.at(-1)).toBeUndefined();
    r.dropOldest(50);
    expect(r.length).toBe(0);
    expect(r.at(0)).toBeUndefined();
    expect(offsets(r)).toEqual([]);
    r.push(pub(11));
    expect(offsets(r)).toEqual([11]);
  });
});
