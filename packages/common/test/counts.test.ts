import { describe, expect, it } from 'vitest';
import {
  checkClock,
  ManualClock,
  OptionError,
  sumByKey,
  sumCounts,
  systemClock,
} from '../src/index.js';

describe('sumCounts', () => {
  it('sums the named fields, every one present even with no items', () => {
    expect(sumCounts([], ['a', 'b'])).toEqual({ a: 0, b: 0 });
    const items = [
      { a: 1, b: 2, c: 9 },
      { a: 3, b: 4, c: 9 },
    ];
    expect(sumCounts(items, ['a', 'b'])).toEqual({ a: 4, b: 6 });
  });
});

describe('sumByKey', () => {
  it('adds counts of the same key across records', () => {
    expect(sumByKey([{ x: 1 }, { x: 2, y: 5 }, {}])).toEqual({ x: 3, y: 5 });
  });
});

describe('checkClock', () => {
  it('defaults to the system clock, keeps a valid one and names a bad one', () => {
    expect(checkClock('clock', undefined)).toBe(systemClock);
    const manual = new ManualClock();
    expect(checkClock('clock', manual)).toBe(manual);
    expect(() => checkClock('store.clock', { now: () => 1 } as never)).toThrow(OptionError);
    expect(() => checkClock('store.clock', { now: () => 1 } as never)).toThrow(/store\.clock/);
  });
});
