/**
 * One check of the stability suite: a name, PASS or FAIL, the numbers that justify it,
 * and what failed. A check never turns a failure into a pass; the suite passes only when
 * every check does.
 */

export interface CheckResult {
  name: string;
  /** What the check exercises, in one line (for the report). */
  what: string;
  pass: boolean;
  /** The numbers, as label/value pairs, in the order they read best. */
  numbers: Array<[string, string | number]>;
  /** Why it failed (empty when it passed). */
  failures: string[];
  /** Anything else worth knowing (settings, caveats). */
  notes: string[];
  /** Timings as distributions (count, p50, p99, max), each against its bound if it has one. */
  distributions?: Distribution[];
  /**
   * Why the check did not run (the machine cannot do what it needs). A skipped check is
   * no failure and no pass: the report says SKIPPED loudly. Under CI=true a check that
   * cannot run fails instead.
   */
  skipped?: string;
  durationMs: number;
}

/** A timing distribution in milliseconds (nearest-rank percentiles of the samples). */
export interface Distribution {
  label: string;
  count: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** The bound every sample must stay within, when there is one. */
  boundMs?: number;
}

/** Nearest-rank percentiles of `samples` (ms); zeros when there are none. */
export function distribution(
  label: string,
  samples: readonly number[],
  boundMs?: number,
): Distribution {
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = (p: number): number =>
    sorted.length === 0
      ? 0
      : (sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] as number);
  return {
    label,
    count: sorted.length,
    p50Ms: Math.round(rank(50)),
    p99Ms: Math.round(rank(99)),
    maxMs: Math.round(sorted.at(-1) ?? 0),
    ...(boundMs === undefined ? {} : { boundMs }),
  };
}

/** A check being built: collects numbers and failures, then produces its result. */
export class CheckRecorder {
  private readonly numbers: Array<[string, string | number]> = [];
  private readonly failures: string[] = [];
  private readonly notes: string[] = [];
  private readonly distributions: Distribution[] = [];
  private skipReason: string | undefined;
  private readonly started = performance.now();

  constructor(
    readonly name: string,
    readonly what: string,
  ) {}

  number(label: string, value: string | number): this {
    this.numbers.push([label, value]);
    return this;
  }

  /** Records a failure unless `ok`. */
  expect(ok: boolean, failure: string): this {
    if (!ok) this.failures.push(failure);
    return this;
  }

  fail(failure: string): this {
    this.failures.push(failure);
    return this;
  }

  /** Records a timing distribution for the report. */
  distribution(d: Distribution): this {
    this.distributions.push(d);
    return this;
  }

  /** The check cannot run on this machine: SKIPPED (loudly), with why. */
  skip(reason: string): this {
    this.skipReason = reason;
    return this;
  }

  note(note: string): this {
    this.notes.push(note);
    return this;
  }

  result(): CheckResult {
    return {
      name: this.name,
      what: this.what,
      pass: this.failures.length === 0,
      numbers: this.numbers,
      failures: this.failures,
      notes: this.notes,
      ...(this.distributions.length === 0 ? {} : { distributions: this.distributions }),
      ...(this.skipReason === undefined ? {} : { skipped: this.skipReason }),
      durationMs: Math.round(performance.now() - this.started),
    };
  }
}

/** Runs `body` with a recorder; an exception is a failure of the check, never of the suite. */
export async function runCheck(
  name: string,
  what: string,
  body: (check: CheckRecorder) => Promise<void>,
): Promise<CheckResult> {
  const check = new CheckRecorder(name, what);
  try {
    await body(check);
  } catch (err) {
    check.fail(`the check itself failed: ${err instanceof Error ? err.message : String(err)}`);
  }
  return check.result();
}

export { sleep, waitUntil } from '../wait-until.js';
