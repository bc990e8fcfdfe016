import type { Connection } from './connection.js';
import { ConnectionInbound } from './connection-inbound.js';

/**
 * Running application code (handlers, hooks) for a connection: synchronously when it
 * answers synchronously, chained per connection when order matters, and counted as in
 * flight while it runs, so graceful shutdown can wait for it.
 */

/** Where in-flight work is counted. */
export interface InFlightHost {
  readonly counters: { add(name: 'inFlight', by?: number): void };
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
  const tail = conn.work.serialTail;
  if (tail === undefined) {
    const pending = task();
    if (pending === undefined) return;
    conn.work.setSerialTail(track(ctx, conn, pending));
    return;
  }
  conn.work.setSerialTail(
    track(
      ctx,
      conn,
      tail.then(() => task()),
    ),
  );
}

/** Counts a pending handler as in flight until it settles; returns its tail. */
export function track(ctx: InFlightHost, conn: Connection, pending: Promise<void>): Promise<void> {
  conn.work.started();
  ctx.counters.add('inFlight');
  const tail: Promise<void> = pending.then(
    () => finish(),
    () => finish(),
  );
  function finish(): void {
    conn.work.settled();
    ctx.counters.add('inFlight', -1);
    if (conn.work.serialTail === tail) conn.work.setSerialTail(undefined);
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

/** Where a connection's handler chain continues once welcomed (its session). */
interface TailHolder {
  readonly serialTail: Promise<void> | undefined;
  setSerialTail(tail: Promise<void> | undefined): void;
}

/**
 * The application work of one connection: the tail of its handler chain (the session's
 * once welcomed), the handlers in flight and the requests not answered yet. A base class
 * of {@link Connection} (see ConnectionLiveness).
 */
export abstract class ConnectionWork extends ConnectionInbound {
  private ownTail: Promise<void> | undefined = undefined;
  private running = 0;
  private requests = 0;

  /** The session once welcomed: its chain is the one handlers follow. */
  abstract get session(): TailHolder | undefined;

  /** The work as its own view (`conn.work.inFlight`): the connection itself. */
  get work(): ConnectionWork {
    return this;
  }

  /**
   * Tail of the chain that keeps handlers in order. Once welcomed it is the session's,
   * so handlers stay in order across the connections of a session (a resumed client's
   * messages wait for those still running from its previous connection).
   */
  get serialTail(): Promise<void> | undefined {
    const session = this.session;
    return session === undefined ? this.ownTail : session.serialTail;
  }

  /** Handlers of this connection still running. */
  get inFlight(): number {
    return this.running;
  }

  /** Requests accepted and not answered yet (running or waiting their turn); see `maxPendingRequests`. */
  get pendingRequests(): number {
    return this.requests;
  }

  setSerialTail(tail: Promise<void> | undefined): void {
    const session = this.session;
    if (session === undefined) this.ownTail = tail;
    else session.setSerialTail(tail);
  }

  started(): void {
    this.running += 1;
  }

  settled(): void {
    this.running -= 1;
  }

  requestAccepted(): void {
    this.requests += 1;
  }

  requestAnswered(): void {
    this.requests -= 1;
  }
}
