/**
 * Wall-clock times kept per connection or per session, packed so that V8 stores them
 * inside their object. A number field holding a whole number in the 32-bit range (a
 * Smi, ±2^31) costs nothing beyond the field; any other number (a raw `Date.now()` is
 * about 1.7e12) is a separate 16-byte heap number. With thousands of idle connections,
 * each holding a few timestamps, that is a visible share of their heap.
 *
 * A whole-ms time is kept as its offset from {@link TIME_BASE} (this process's start,
 * in whole ms): a Smi for about 24.8 days after the start, a heap number later (the
 * same value, only the saving is gone). A time that is not a whole number is kept as it
 * is: an offset is always whole, so the two never mix up. The time read back is exactly
 * the one kept for every whole-ms time within ±(2^53 − TIME_BASE) ms (±285,000 years:
 * any time a clock gives), and for every time that is not whole.
 */

/** Whole ms, once per process: what packed times are offsets from. */
export const TIME_BASE = Math.floor(Date.now());

export function packTime(time: number): number {
  if (!Number.isInteger(time)) return time;
  const offset = time - TIME_BASE;
  // `| 0` makes the int32 a Smi: a difference of two doubles stays a heap number in V8
  // even when it is whole (`Date.now()` is a double).
  return offset === (offset | 0) ? offset | 0 : offset;
}

export function unpackTime(packed: number): number {
  return Number.isInteger(packed) ? TIME_BASE + packed : packed;
}

export function packNullableTime(time: number | null): number | null {
  return time === null ? null : packTime(time);
}

export function unpackNullableTime(packed: number | null): number | null {
  return packed === null ? null : unpackTime(packed);
}
