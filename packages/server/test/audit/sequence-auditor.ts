/**
 * Sequence audits for the "lose nothing" acceptance tests: every message carries a
 * number, every receiver's list is compared with the exact expected list, and a
 * failure says precisely what went wrong (the first gap, the duplicates, the first
 * reorder), not just "arrays differ".
 */

/** `[from, from + 1, ..., to]`. */
export function range(from: number, to: number): number[] {
  const out: number[] = [];
  for (let n = from; n <= to; n += 1) out.push(n);
  return out;
}

/** What is wrong with one received list, compared with the expected one. */
export interface SequenceReport {
  /** True when `received` equals `expected` element by element. */
  exact: boolean;
  received: number;
  expected: number;
  /** Expected numbers never received (the first 10), and how many in all. */
  missing: number[];
  missingCount: number;
  /** Numbers received more than once (the first 10), and how many extra copies in all. */
  duplicates: number[];
  duplicateCount: number;
  /** Numbers received that were never expected (the first 10). */
  unexpected: number[];
  /** First index where an element is smaller than the one before it (a reorder), or -1. */
  firstReorderAt: number;
  /** First index where `received` and `expected` differ, or -1. */
  firstMismatchAt: number;
}

const SAMPLE = 10;

/** Compares `received` with `expected` (which must itself hold no duplicates). */
export function auditSequence(
  received: readonly number[],
  expected: readonly number[],
): SequenceReport {
  const wanted = new Set(expected);
  const seen = new Map<number, number>();
  const duplicates: number[] = [];
  const unexpected: number[] = [];
  let duplicateCount = 0;
  let firstReorderAt = -1;
  let firstMismatchAt = -1;
  for (let i = 0; i < received.length; i += 1) {
    const n = received[i] as number;
    const count = (seen.get(n) ?? 0) + 1;
    seen.set(n, count);
    if (count === 2 && duplicates.length < SAMPLE) duplicates.push(n);
    if (count >= 2) duplicateCount += 1;
    if (!wanted.has(n) && unexpected.length < SAMPLE) unexpected.push(n);
    if (firstReorderAt < 0 && i > 0 && n < (received[i - 1] as number)) firstReorderAt = i;
    if (firstMismatchAt < 0 && expected[i] !== n) firstMismatchAt = i;
  }
  if (firstMismatchAt < 0 && received.length !== expected.length) {
    firstMismatchAt = Math.min(received.length, expected.length);
  }
  const missing: number[] = [];
  let missingCount = 0;
  for (const n of expected) {
    if (seen.has(n)) continue;
    missingCount += 1;
    if (missing.length < SAMPLE) missing.push(n);
  }
  return {
    exact: firstMismatchAt < 0,
    received: received.length,
    expected: expected.length,
    missing,
    missingCount,
    duplicates,
    duplicateCount,
    unexpected,
    firstReorderAt,
    firstMismatchAt,
  };
}

/** One line describing a failed report, for assertion messages. */
export function describeReport(
  name: string,
  report: SequenceReport,
  received: readonly number[],
): string {
  const parts = [`${name}: received ${report.received} of ${report.expected}`];
  if (report.missingCount > 0)
    parts.push(`missing ${report.missingCount} (first: ${report.missing.join(', ')})`);
  if (report.duplicateCount > 0)
    parts.push(`${report.duplicateCount} duplicate(s) (first: ${report.duplicates.join(', ')})`);
  if (report.unexpected.length > 0) parts.push(`unexpected: ${report.unexpected.join(', ')}`);
  if (report.firstReorderAt >= 0) {
    const i = report.firstReorderAt;
    parts.push(`reorder at index ${i}: ${received[i - 1]} then ${received[i]}`);
  }
  if (report.firstMismatchAt >= 0) {
    const i = report.firstMismatchAt;
    const around = received.slice(Math.max(0, i - 3), i + 4).join(', ');
    parts.push(`first mismatch at index ${i} (around: ${around})`);
  }
  return parts.join('; ');
}

/** A note about the moment a stream first broke continuity, for diagnosis. */
export interface Anomaly {
  stream: string;
  /** What arrived, and what was due (`last + 1`). */
  got: number;
  due: number;
  /** How many items the stream had before. */
  index: number;
  /** What the test said about the stream's state then (connection count, ...). */
  context: string;
}

/**
 * Collects numbered items per stream (a client, a publisher...), notes the first
 * continuity break of each stream as it happens (with context, for diagnosis), and
 * checks every stream against its exact expected sequence at the end.
 */
export class SequenceAuditor {
  private readonly streams = new Map<string, number[]>();
  private readonly anomalies = new Map<string, Anomaly>();

  /**
   * @param context - called when a stream first breaks continuity; its text goes into
   * the anomaly (for example how many times that client reconnected so far).
   */
  constructor(private readonly context: (stream: string) => string = () => '') {}

  /** Declares a stream, so that one that received nothing still gets audited. */
  declare(stream: string): void {
    if (!this.streams.has(stream)) this.streams.set(stream, []);
  }

  /** Records item `n` of `stream`. Continuity is expected to start at `first` (default 1). */
  record(stream: string, n: number, first = 1): void {
    let list = this.streams.get(stream);
    if (list === undefined) {
      list = [];
      this.streams.set(stream, list);
    }
    const due = list.length === 0 ? first : (list[list.length - 1] as number) + 1;
    if (n !== due && !this.anomalies.has(stream)) {
      this.anomalies.set(stream, {
        stream,
        got: n,
        due,
        index: list.length,
        context: this.context(stream),
      });
    }
    list.push(n);
  }

  /** What `stream` received so far, in arrival order. */
  received(stream: string): readonly number[] {
    return this.streams.get(stream) ?? [];
  }

  /** How many items `stream` received. */
  count(stream: string): number {
    return this.streams.get(stream)?.length ?? 0;
  }

  /** The last item of `stream`, or 0. */
  last(stream: string): number {
    const list = this.streams.get(stream);
    return list === undefined || list.length === 0 ? 0 : (list[list.length - 1] as number);
  }

  /** Whether every declared stream has received `count` items (or its own count) or more. */
  allReached(count: number | ((stream: string) => number)): boolean {
    for (const [name, list] of this.streams) {
      if (list.length < (typeof count === 'number' ? count : count(name))) return false;
    }
    return true;
  }

  get names(): string[] {
    return [...this.streams.keys()];
  }

  /**
   * One line per stream whose list is not exactly `expected`, plus the first anomaly
   * seen live on it; empty when every stream is exact. Use as
   * `expect(auditor.problems(expected)).toEqual([])`.
   */
  problems(expected: readonly number[] | ((stream: string) => readonly number[])): string[] {
    const out: string[] = [];
    for (const [name, list] of this.streams) {
      const want = typeof expected === 'function' ? expected(name) : expected;
      const report = auditSequence(list, want);
      if (report.exact) continue;
      let line = describeReport(name, report, list);
      const anomaly = this.anomalies.get(name);
      if (anomaly !== undefined) {
        line += `; first break live: got ${anomaly.got} when ${anomaly.due} was due, after ${anomaly.index} items`;
        if (anomaly.context) line += ` (${anomaly.context})`;
      }
      out.push(line);
    }
    return out;
  }
}
