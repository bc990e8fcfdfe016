/**
 * The connection's states and the transitions between them. The client
 * changes state in exactly one function, which checks this table and emits
 * `{from, to}`.
 */

/**
 * - `idle`: constructed with `autoConnect: false`, nothing started.
 * - `connecting`: a socket is opening, or open and waiting for `welcome`.
 * - `open`: `welcome` received; messages flow.
 * - `reconnecting`: waiting before the next attempt (backoff, a server hint,
 *   or `navigator.onLine === false`).
 * - `circuit-open`: too many failed attempts in a row; waiting for the
 *   cool-down, then a single probe attempt.
 * - `closed`: stopped by `close()`, a final close code, or `maxAttempts`.
 *   `connect()` starts again.
 */
export type ConnectionState =
  | 'idle'
  | 'connecting'
  | 'open'
  | 'reconnecting'
  | 'circuit-open'
  | 'closed';

/** Emitted on every state change (event `state`, and the `states()` stream). */
export interface StateChange {
  type: 'state';
  from: ConnectionState;
  to: ConnectionState;
  /** Why, in a few words (`welcome`, `close 1006`, `offline`, `client close`, ...). */
  reason: string;
  /** Wall-clock time of the change (ms since epoch). */
  at: number;
}

const TRANSITIONS: Record<ConnectionState, readonly ConnectionState[]> = {
  idle: ['connecting', 'reconnecting', 'closed'],
  connecting: ['open', 'reconnecting', 'circuit-open', 'closed'],
  open: ['reconnecting', 'circuit-open', 'closed'],
  reconnecting: ['connecting', 'closed'],
  'circuit-open': ['connecting', 'reconnecting', 'closed'],
  closed: ['connecting', 'reconnecting'],
};

/** Whether the state machine allows `from -> to`. */
export function canTransition(from: ConnectionState, to: ConnectionState): boolean {
  return TRANSITIONS[from].includes(to);
}

/** Promises waiting for the state to become `open` (resolved) or `closed` (rejected). */
export class OpenWaiters {
  private waiters: Array<{ resolve: () => void; reject: (err: unknown) => void }> = [];

  wait(): Promise<void> {
    return new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** Settles every waiter: resolved without `error`, else rejected with it. */
  settle(error: unknown): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) {
      if (error === undefined) w.resolve();
      else w.reject(error);
    }
  }
}
