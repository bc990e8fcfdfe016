import { afterEach } from 'vitest';
import { WebSocket } from 'ws';
import { TetherClient, type TetherClientOptions, type UrlSource } from '../../src/index.js';
import { type RunningServer, startServer } from './real-server.js';

/** Per-file factories for tests against the real server; all they start is closed after each test. */
export interface RealSetup {
  /** Runs `fn` after the current test, in reverse order of registration. */
  defer(fn: () => Promise<unknown> | unknown): void;
  /** A client with `ws` and this file's defaults, closed after the test. */
  client(url: UrlSource, options?: TetherClientOptions): TetherClient;
  /** {@link startServer}, closed (drained) after the test. */
  server(...args: Parameters<typeof startServer>): Promise<RunningServer>;
}

/**
 * Call once at the top of a test file: registers the `afterEach` that runs
 * the cleanups. `clientDefaults` go under every client's own options;
 * `drainTimeoutMs` bounds each server's close.
 */
export function useRealSetup(
  clientDefaults: TetherClientOptions,
  drainTimeoutMs: number,
): RealSetup {
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  afterEach(async () => {
    for (const fn of cleanups.splice(0).reverse()) await fn();
  });
  const defer = (fn: () => Promise<unknown> | unknown): void => {
    cleanups.push(fn);
  };
  return {
    defer,
    client(url, options = {}) {
      const c = new TetherClient(url, { WebSocket, ...clientDefaults, ...options });
      defer(() => c.close());
      return c;
    },
    async server(...args) {
      const s = await startServer(...args);
      defer(() => s.tether.close({ drainTimeoutMs }));
      return s;
    },
  };
}
