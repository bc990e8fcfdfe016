/**
 * Per-tick transaction batching: operations submitted during one event-loop
 * turn run together in one transaction, and their promises resolve (in
 * submission order) only after it committed. A hundred appends cost one
 * commit instead of a hundred, and "resolved" means "on disk".
 *
 * The batcher knows nothing about SQL; a {@link BatchExecutor} supplies the
 * transaction and the per-operation savepoint.
 */

import { performance } from 'node:perf_hooks';

/** The database side of batching. */
export interface BatchExecutor {
  /**
   * Runs `body` in one transaction and commits it: a write transaction
   * (taking the write lock up front) when `write`, else a read snapshot.
   * Throws when begin or commit fails; the transaction is then rolled back.
   */
  transaction(write: boolean, body: () => void): void;
  /** Runs `fn` so that, when it throws, only its own writes are undone (a savepoint). */
  isolated<T>(fn: () => T): T;
  /**
   * Whether the transaction is still open. Some failures (disk full, I/O
   * error) make the database roll back the whole transaction by itself: then
   * the operations already run in the batch are lost too, and the batch fails.
   */
  inTransaction(): boolean;
}

/** Options of {@link WriteBatcher}. */
export interface WriteBatcherOptions {
  /** Most operations in one transaction; the rest run in the next turn. */
  maxBatch: number;
  /**
   * Most milliseconds one batch runs operations (default: no bound). Past it the batch
   * commits what ran and the rest runs in the next turn, after the event loop served
   * I/O: a burst of large reads (hundreds of replay pages at once) must not hold the
   * process, and its health checks, for hundreds of milliseconds. Real time, not the
   * injected clock: it bounds CPU work.
   */
  maxBatchMs?: number;
  /** Turns a driver error into the error the caller sees. */
  mapError: (err: unknown) => Error;
  /** Builds the rejection of operations submitted after `close()`. */
  closedError: () => Error;
}

interface Job {
  write: boolean;
  run: () => unknown;
  resolve: (value: unknown) => void;
  reject: (reason: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/** Queues operations and runs each event-loop turn's worth in one transaction. */
export class WriteBatcher {
  private queue: Job[] = [];
  private scheduled: ReturnType<typeof setImmediate> | undefined;
  private closed = false;
  /** Write transactions committed. */
  transactions = 0;
  /** Operations that completed. */
  operations = 0;
  /** Operations that failed (their own error, or their batch's). */
  failedOperations = 0;
  /** Largest number of operations run in one batch. */
  largestBatch = 0;

  constructor(
    private readonly executor: BatchExecutor,
    private readonly options: WriteBatcherOptions,
  ) {}

  /** Operations waiting for the next batch. */
  get pending(): number {
    return this.queue.length;
  }

  /**
   * Queues `run` for the next batch. `write` operations run in a savepoint
   * inside a write transaction: when one fails, only its own changes are
   * undone and the rest of the batch still commits.
   */
  submit<T>(write: boolean, run: () => T): Promise<T> {
    if (this.closed) return Promise.reject(this.options.closedError());
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ write, run, resolve: resolve as (value: unknown) => void, reject });
      this.schedule();
    });
  }

  /** Runs everything queued now, synchronously, batch after batch. */
  flushNow(): void {
    this.cancelSchedule();
    while (this.queue.length > 0) this.runBatch();
  }

  /** Runs what is queued, then refuses further operations. Idempotent. */
  close(): void {
    this.closed = true;
    this.flushNow();
  }

  private schedule(): void {
    if (this.scheduled !== undefined) return;
    // setImmediate, not a microtask: everything the poll phase delivers in one
    // turn (many sockets' messages) lands in the same batch. Deliberately not
    // unref'd: it fires within this turn, and a process must not exit with
    // writes queued.
    this.scheduled = setImmediate(() => {
      this.scheduled = undefined;
      this.runBatch();
      if (this.queue.length > 0) this.schedule();
    });
  }

  private cancelSchedule(): void {
    if (this.scheduled !== undefined) {
      clearImmediate(this.scheduled);
      this.scheduled = undefined;
    }
  }

  private runBatch(): void {
    const jobs = this.queue.splice(0, this.options.maxBatch);
    if (jobs.length === 0) return;
    this.largestBatch = Math.max(this.largestBatch, jobs.length);
    const write = jobs.some((j) => j.write);
    const outcomes: Outcome[] = [];
    const sliceMs = this.options.maxBatchMs ?? Number.POSITIVE_INFINITY;
    const started = performance.now();
    // How many of `jobs` ran; the others go back to the head of the queue.
    let ran = jobs.length;
    try {
      // Reads too, even one alone: a read of several statements (a topic's head, then
      // its page) must see one snapshot while other connections commit.
      this.executor.transaction(write, () => {
        outcomes.length = 0;
        ran = jobs.length;
        for (const [i, job] of jobs.entries()) {
          if (i > 0 && performance.now() - started > sliceMs) {
            ran = i;
            break;
          }
          const outcome = this.runOne(job);
          // The database rolled everything back on its own: the batch is lost.
          if (!outcome.ok && !this.executor.inTransaction()) throw outcome.error;
          outcomes.push(outcome);
        }
      });
      if (write) this.transactions++;
    } catch (err) {
      const error = this.options.mapError(err);
      outcomes.length = 0;
      for (let i = 0; i < ran; i++) outcomes.push({ ok: false, error });
    }
    // Not run yet: first in line for the next batch, so the order of operations holds.
    if (ran < jobs.length) {
      this.queue.unshift(...jobs.slice(ran));
      jobs.length = ran;
    }
    jobs.forEach((job, i) => {
      const outcome = outcomes[i];
      if (outcome?.ok) {
        this.operations++;
        job.resolve(outcome.value);
      } else {
        this.failedOperations++;
        job.reject(outcome ? outcome.error : this.options.mapError(undefined));
      }
    });
  }

  private runOne(job: Job): Outcome {
    try {
      const value = job.write ? this.executor.isolated(job.run) : job.run();
      return { ok: true, value };
    } catch (err) {
      return { ok: false, error: this.options.mapError(err) };
    }
  }
}
