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
  durationMs: number;
}

/** A check being built: collects numbers and failures, then produces its result. */
export class CheckRecorder {
  private readonly numbers: Array<[string, string | number]> = [];
  private readonly failures: string[] = [];
  private readonly notes: string[] = [];
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
