/**
 * @tether/fault-proxy — a TCP proxy on loopback that injects the faults real networks
 * have, controlled at runtime: latency with jitter, a bandwidth cap, half-open stalls
 * (`pause()`), resets (`resetAll()`, `cutEvery()`), refused connections. `tether chaos`
 * drives it; tests use it to prove that a client and a server lose nothing across them.
 * Node built-ins only.
 *
 * @example
 * ```ts
 * import { createFaultProxy } from '@tether/fault-proxy';
 *
 * const proxy = await createFaultProxy({ target: { host: '127.0.0.1', port: 8080 } });
 * // clients connect to ws://127.0.0.1:${proxy.port}/ws instead of port 8080
 * proxy.setLatency(200, 50);
 * proxy.pause(); // half-open: no byte, FIN or error reaches either side
 * proxy.resume();
 * proxy.resetAll(); // both sides see a reset
 * await proxy.close();
 * ```
 *
 * @packageDocumentation
 */

export { abort as abortSocket } from './fault-link.js';
export {
  createFaultProxy,
  type FaultProxy,
  type FaultProxyOptions,
  type FaultProxyTraffic,
} from './fault-proxy.js';
export { type BoundAddress, type ListenableServer, listenOnPort0 } from './listen.js';
