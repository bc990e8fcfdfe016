import type { Connection } from './connection.js';

/**
 * Running application code (handlers, hooks) for a connection: synchronously when it
 * answers synchronously, chained per connection when order matters, and counted as in
 * flight while it runs, so graceful shutdown can wait for it.
 */

/** Where in-flight work is counted. */
export interface InFlightHost {
  readonly counters: { inFlight: number };
  /** A handler of the connection finished. */
  settled(connection: Connection): void;
}

/**
 * Calls `fn` and reports its outcome to `then` (value, or the error): synchronously when
 * `fn` returns a plain value, else when its promise settles. Never throws or rejects.
 */
export function settle<T>(
  fn: () => T | Promise<T>,
  then: (value: T | undefined, err: unknown) => void,
): Promise<void> | undefined {
  let result: T | Promise<T>;
  try {
    result = fn();
  } catch (err) {
    then(undefined, err ?? new Error('handler threw'));
    return undefined;
  }
  if (!isPromiseLike(result)) {
    then(result, undefined);
    return undefined;
  }
  return Promise.resolve(result).then(
    (value) => then(value, undefined),
    (err: unknown) => then(undefined, err ?? new Error('handler rejected')),
  );
}

/**
 * Runs `task` after the connection's earlier serial work (message handlers, topic
 * authorizations): synchronously when nothing is pending, else chained. Pending work
 * counts as in flight for graceful shutdown.
 */
export function serial(
  ctx: InFlightHost,
  conn: Connection,
  task: () => Promise<void> | undefined,
): void {
  const tail = conn.serialTail;
  if (tail === undefined) {
    const pending = task();
    if (pending === undefined) return;
    conn.serialTail = track(ctx, conn, pending);
    return;
  }
  conn.serialTail = track(
    ctx,
    conn,
    tail.then(() => task()),
  );
}

/** Counts a pending handler as in flight until it settles; returns its tail. */
export function track(ctx: InFlightHost, conn: Connection, pending: Promise<void>): Promise<void> {
  conn.inFlight += 1;
  ctx.counters.inFlight += 1;
  const tail: Promise<void> = pending.then(
    () => finish(),
    () => finish(),
  );
  function finish(): void {
    conn.inFlight -= 1;
    ctx.counters.inFlight -= 1;
    if (conn.serialTail === tail) conn.serialTail = undefined;
    ctx.settled(conn);
  }
  return tail;
}

export function isPromiseLike<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}
