/**
 * Deadlines for tests: wait for a condition or an event, never `sleep(n)` and hope.
 * Every timer here is cleared as soon as the wait settles.
 */

import type { Readable } from 'node:stream';

/** Rejection reason of every testkit wait that ran past its deadline. */
export class TestTimeoutError extends Error {
  override readonly name = 'TestTimeoutError';
  /** Stable code, for `catch` blocks that want to tell a deadline from a real failure. */
  readonly code = 'TESTKIT_TIMEOUT';
  /** Retrying a timed-out wait with the same deadline rarely helps: the condition is wrong. */
  readonly retryable = false;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Options of {@link waitFor}. */
export interface WaitForOptions {
  /** Give up after this long; default 5000 ms. */
  timeoutMs?: number;
  /** Pause between two evaluations of the predicate; default 20 ms. */
  intervalMs?: number;
  /** Rejection message on deadline; default `"condition not met"`. */
  message?: string;
}

/** Default deadline of {@link waitFor}, in milliseconds. */
export const DEFAULT_WAIT_TIMEOUT_MS = 5000;
/** Default polling interval of {@link waitFor}, in milliseconds. */
export const DEFAULT_WAIT_INTERVAL_MS = 20;

type Truthy<T> = Exclude<T, false | 0 | '' | null | undefined>;

/**
 * Polls `predicate` until it returns (or resolves to) a truthy value, and resolves with it.
 *
 * A predicate that throws counts as "not yet" (so expect-style predicates work); the last
 * error becomes the `cause` of the rejection on deadline. Rejects with
 * {@link TestTimeoutError} carrying `message` after `timeoutMs` (default 5000 ms), polling
 * every `intervalMs` (default 20 ms).
 */
export async function waitFor<T>(
  predicate: () => T | Promise<T>,
  options: WaitForOptions = {},
): Promise<Truthy<T>> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_WAIT_TIMEOUT_MS;
  const intervalMs = options.intervalMs ?? DEFAULT_WAIT_INTERVAL_MS;
  const message = options.message ?? 'condition not met';
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await predicate();
      if (value) return value as Truthy<T>;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    const left = deadline - Date.now();
    if (left <= 0) {
      const detail = lastError instanceof Error ? `: ${lastError.message}` : '';
      throw new TestTimeoutError(`${message} (waited ${timeoutMs} ms${detail})`, {
        cause: lastError,
      });
    }
    await delay(Math.min(intervalMs, left));
  }
}

/** The emitter surface {@link once} needs; `EventEmitter`, `ws` sockets, `net` sockets. */
export interface EventEmitterLike {
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  off(event: string, listener: (...args: unknown[]) => void): unknown;
}

/**
 * Resolves with the arguments of the next `event` from `emitter`, or rejects with
 * {@link TestTimeoutError} after `timeoutMs` (default 5000 ms). Like `events.once`, an
 * `'error'` event rejects the wait (unless `'error'` is the event awaited).
 */
export function once<A extends unknown[] = unknown[]>(
  emitter: EventEmitterLike,
  event: string,
  timeoutMs: number = DEFAULT_WAIT_TIMEOUT_MS,
): Promise<A> {
  return new Promise<A>((resolve, reject) => {
    const onEvent = (...args: unknown[]): void => {
      cleanup();
      resolve(args as A);
    };
    const onError = (err: unknown): void => {
      cleanup();
      reject(err);
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new TestTimeoutError(`event '${event}' not emitted within ${timeoutMs} ms`));
    }, timeoutMs);
    timer.unref();
    const cleanup = (): void => {
      clearTimeout(timer);
      emitter.off(event, onEvent);
      if (event !== 'error') emitter.off('error', onError);
    };
    emitter.on(event, onEvent);
    if (event !== 'error') emitter.on('error', onError);
  });
}

/**
 * Races `promise` against a deadline: resolves or rejects as `promise` does, or rejects with
 * {@link TestTimeoutError} naming `label` after `ms`. The timer is cleared either way.
 */
export function withTimeout<T>(
  promise: PromiseLike<T>,
  ms: number,
  label = 'operation',
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new TestTimeoutError(`${label} timed out after ${ms} ms`));
    }, ms);
    timer.unref();
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}

/**
 * Pause between polls. Deliberately not unref'd: a predicate may poll something that keeps
 * no handle of its own (a file, a counter), and the deadline already bounds the wait.
 */
function delay(ms: number): Promise<void> {
  return new Promise((resolve) => {
    setTimeout(resolve, ms);
  });
}

/**
 * Everything `socket` receives (as Latin-1 text) until it closes, once it closes; its
 * errors are swallowed (a peer's reset is a close too). Reading is what lets the socket
 * see the peer's FIN: one that is never read never closes.
 */
export function receivedUntilClose(socket: Readable): Promise<string> {
  let received = '';
  socket.on('data', (chunk: Buffer) => {
    received += chunk.toString('latin1');
  });
  socket.on('error', () => {});
  return new Promise((resolve) => socket.once('close', () => resolve(received)));
}
