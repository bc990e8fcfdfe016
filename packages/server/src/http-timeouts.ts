import type { ServerOptions } from 'node:http';

/**
 * Deadlines of the HTTP layer under the WebSocket upgrade. Node's defaults (60 s for
 * headers, 300 s for a request, checked every 30 s) let a client that sends half a
 * request hold a socket for over a minute before any per-IP cap applies (it is counted
 * only once the upgrade request is complete), so a few thousand such sockets tie up file
 * descriptors and memory. With these, an incomplete request is answered 408 and cut
 * within its deadline plus one check interval.
 */
export interface HttpTimeouts {
  /** Time to receive the complete request headers. */
  headersTimeoutMs: number;
  /** Time to receive the complete request (headers and body). */
  requestTimeoutMs: number;
}

/**
 * How often Node checks the deadlines: a quarter of the headers deadline, between 50 ms
 * and 1 s (Node's own 30 s would let a 10 s deadline run to 40 s).
 */
export function checkingIntervalMs(timeouts: HttpTimeouts): number {
  return Math.min(1000, Math.max(50, Math.floor(timeouts.headersTimeoutMs / 4)));
}

/** The `http.createServer` options that apply `timeouts`. */
export function httpServerOptions(timeouts: HttpTimeouts): ServerOptions {
  return {
    headersTimeout: timeouts.headersTimeoutMs,
    requestTimeout: timeouts.requestTimeoutMs,
    connectionsCheckingInterval: checkingIntervalMs(timeouts),
  };
}
