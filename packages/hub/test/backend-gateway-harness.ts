/**
 * The setup of the gateway tests: a test backend, a hub forwarding to it (memory store,
 * no rate limit, fast retries), clients, the fault proxy and the hub's metrics.
 */
import { TetherClient } from '@tether/client';
import { createFaultProxy, type FaultProxy } from '@tether/testkit';
import { WebSocket } from 'ws';
import type { ServeHandle } from '../src/index.js';
import { startBackend, type TestBackend } from './backend-helpers.js';
import { closeHubs, HOST, OPS_KEY, startTestHub } from './hub-helpers.js';

export const SECRET = 'backend-secret-that-is-32-chars!!';
const cleanups: Array<() => Promise<unknown> | unknown> = [];

/** Stops what {@link setup}, {@link client} and {@link proxyTo} started (run it in afterEach). */
export async function cleanUpGateway(): Promise<void> {
  for (const fn of cleanups.splice(0).reverse()) await fn();
  await closeHubs();
}

/** Runs `fn` at the next {@link cleanUpGateway}. */
export function onCleanUp(fn: () => Promise<unknown> | unknown): void {
  cleanups.push(fn);
}

export async function setup(
  backendOptions: Record<string, unknown> = {},
  hubOptions: Record<string, unknown> = {},
): Promise<{ backend: TestBackend; hub: ServeHandle }> {
  const backend = await startBackend(SECRET);
  cleanups.push(() => backend.close());
  const { hub } = await startTestHub({
    limits: { rate: false },
    backend: {
      url: backend.url,
      secret: SECRET,
      retry: { minDelayMs: 20, maxDelayMs: 500 },
      ...backendOptions,
    },
    ...hubOptions,
  });
  return { backend, hub };
}

export function client(url: string, options: ConstructorParameters<typeof TetherClient>[1] = {}) {
  const c = new TetherClient(url, {
    WebSocket,
    minReconnectDelayMs: 20,
    maxReconnectDelayMs: 200,
    ...options,
  });
  cleanups.push(() => c.close());
  return c;
}

export async function proxyTo(hub: ServeHandle): Promise<FaultProxy> {
  const proxy = await createFaultProxy({ target: { host: HOST, port: hub.port } });
  cleanups.push(() => proxy.close());
  return proxy;
}

export async function metric(hub: ServeHandle, name: string, labels: string): Promise<number> {
  const res = await fetch(`${hub.url}/metrics`, { headers: { 'X-Api-Key': OPS_KEY } });
  const text = await res.text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line === undefined ? 0 : Number(line.split(' ').pop());
}
