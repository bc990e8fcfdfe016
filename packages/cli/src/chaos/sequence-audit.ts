/**
 * Audits one receiver's numbered stream: every item carries a number n (1, 2, 3, ...)
 * in the order it was produced. Counts what arrived, duplicates and reorders as they
 * happen; the verdict against what was produced says what was lost.
 */
import { sumCounts } from '@tether/common';

/** The verdict of one receiver (or the sum over many). */
export interface SequenceVerdict {
  /** Items produced that this receiver should have. */
  expected: number;
  /** Distinct expected items received. */
  delivered: number;
  lost: number;
  /** Items received again after their first delivery. */
  duplicated: number;
  /** Items received after a higher number (first deliveries only). */
  reordered: number;
  /** Items received that were never produced (corruption or a mix-up). */
  unexpected: number;
}

export class SequenceAudit {
  private readonly seen = new Set<number>();
  private highest = 0;
  received = 0;
  duplicated = 0;
  reordered = 0;

  /** Records item `n` as delivered now. */
  record(n: number): void {
    this.received += 1;
    if (this.seen.has(n)) {
      this.duplicated += 1;
      return;
    }
    if (n < this.highest) this.reordered += 1;
    else this.highest = n;
    this.seen.add(n);
  }

  /** Highest number delivered so far. */
  get last(): number {
    return this.highest;
  }

  /** Distinct items delivered so far. */
  get distinct(): number {
    return this.seen.size;
  }

  /** Whether every item 1..`produced` has arrived. */
  complete(produced: number): boolean {
    if (this.seen.size < produced) return false;
    for (let n = 1; n <= produced; n += 1) if (!this.seen.has(n)) return false;
    return true;
  }

  /** The verdict when items 1..`produced` were produced (optionally only `from`..`produced` concern this receiver). */
  verdict(produced: number, from = 1): SequenceVerdict {
    let delivered = 0;
    let unexpected = 0;
    for (const n of this.seen) {
      if (n >= from && n <= produced) delivered += 1;
      else if (n > produced || n < 1) unexpected += 1;
    }
    const expected = Math.max(0, produced - from + 1);
    return {
      expected,
      delivered,
      lost: expected - delivered,
      duplicated: this.duplicated,
      reordered: this.reordered,
      unexpected,
    };
  }
}

const VERDICT_KEYS = [
  'expected',
  'delivered',
  'lost',
  'duplicated',
  'reordered',
  'unexpected',
] as const satisfies readonly (keyof SequenceVerdict)[];

/** Sums verdicts of many receivers. */
export function sumVerdicts(verdicts: readonly SequenceVerdict[]): SequenceVerdict {
  return sumCounts(verdicts, VERDICT_KEYS);
}

/** Whether a verdict is clean: nothing lost, duplicated, reordered or unexpected. */
export function isClean(v: SequenceVerdict): boolean {
  return v.lost === 0 && v.duplicated === 0 && v.reordered === 0 && v.unexpected === 0;
}
