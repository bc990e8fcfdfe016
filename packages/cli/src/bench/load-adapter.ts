/**
 * What a load client needs from a WebSocket stack. The bench drives thousands of these
 * per process, so an adapter keeps per-connection state small and counts deliveries
 * instead of keeping them. `tether` is built in; `bench:compare` adds raw `ws` and
 * Socket.IO adapters from a module (see {@link AdapterSpec}).
 */
import type { Socket } from 'node:net';
import { abortSocket } from '@tether/fault-proxy';
import type { WebSocket } from 'ws';

/** Callbacks from one connection to its pool. */
export interface LoadHooks {
  /** `count` fan-out messages arrived (a batch may carry several). */
  delivered(count: number): void;
  /** The connection closed without the pool asking (`code` is the close code, 1006 for a drop). */
  closed(code: number): void;
}

/** One load connection. */
export interface LoadConnection {
  /** Resolves once the connection is usable (Tether: the welcome); rejects on failure. */
  readonly ready: Promise<void>;
  /** Joins the fan-out `topic`; resolves once the server confirmed. */
  subscribe(topic: string): Promise<void>;
  /** Sends `payload` to be echoed; resolves with the reply. */
  echo(payload: string): Promise<void>;
  /** Closes without reporting through `hooks.closed`. */
  close(): void;
  /**
   * Ends the connection at once with a TCP reset, without reporting through
   * `hooks.closed`: no close handshake and no socket left in TIME_WAIT. A pool's teardown
   * uses it where the adapter has it (see `ClientPool.closeAll`).
   */
  drop?(): void;
}

/** A WebSocket stack the bench can load. */
export interface LoadAdapter {
  readonly name: string;
  connect(url: string, localAddress: string | undefined, hooks: LoadHooks): LoadConnection;
}

/**
 * Which adapter a pool uses: the built-in `tether` (echo through the `echo` request
 * handler), `tether-ping` (echo with app ping/pong, which any Tether server answers), or `{ module, name }`, a module URL
 * (`file:///...`) whose export `name` is a {@link LoadAdapter}. Plain data, so it can
 * cross to worker processes.
 */
export type AdapterSpec = 'tether' | 'tether-ping' | { module: string; name: string };

/**
 * Ends a `ws` WebSocket with a TCP reset (`drop`): no close handshake, no socket left in
 * TIME_WAIT (`abortSocket`, which destroys a socket it cannot reset); `terminate()` while
 * it has no socket yet (still connecting).
 */
export function resetSocket(ws: WebSocket): void {
  const socket = (ws as unknown as { _socket?: Socket | null })._socket;
  if (socket) abortSocket(socket);
  else ws.terminate();
}
