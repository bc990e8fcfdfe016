import { IteratorOverflowError } from './errors.js';

/**
 * A push-to-pull bridge: the client pushes items, a `for await` loop pulls
 * them. Buffered up to `limit` items; a reader that falls further behind gets
 * an {@link IteratorOverflowError} instead of unbounded memory growth.
 * `fail(err)` ends the loop with an error; `end()` finishes the loop after the buffered items; `return()` (a `break`
 * in the loop) detaches it from the client.
 */
export class EventStream<T> implements AsyncIterableIterator<T> {
  private readonly buffer: T[] = [];
  private waiting: ((result: IteratorResult<T>) => void) | undefined;
  private done = false;
  private error: unknown;

  constructor(
    private readonly limit: number,
    private readonly detach: () => void,
  ) {}

  push(item: T): void {
    if (this.done) return;
    const waiting = this.waiting;
    if (waiting) {
      this.clearWaiting();
      waiting({ value: item, done: false });
      return;
    }
    if (this.buffer.length >= this.limit) {
      this.fail(new IteratorOverflowError(this.limit));
      return;
    }
    this.buffer.push(item);
  }

  /** No more items: the loop ends once the buffer is drained. */
  end(): void {
    if (this.done) return;
    this.done = true;
    this.detach();
    const waiting = this.waiting;
    this.clearWaiting();
    waiting?.({ value: undefined, done: true });
  }

  next(): Promise<IteratorResult<T>> {
    if (this.buffer.length > 0)
      return Promise.resolve({ value: this.buffer.shift() as T, done: false });
    if (this.error !== undefined) {
      const err = this.error;
      this.error = undefined;
      return Promise.reject(err);
    }
    if (this.done) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => {
      this.waiting = resolve;
    });
  }

  return(): Promise<IteratorResult<T>> {
    this.buffer.length = 0;
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }

  /** Ends the loop with `err`: the reader gets it after nothing (the buffer is dropped). */
  fail(err: unknown): void {
    this.buffer.length = 0;
    this.error = err;
    this.end();
  }

  private clearWaiting(): void {
    this.waiting = undefined;
  }
}
