/**
 * Tether servers on one real redis-server, in the test's process, and clients of them:
 * the setup the cluster tests share. Everything made is closed after each test.
 */
import { TetherClient } from '@tether/client';
import { type Endpoint, silentLogger, TetherServer } from '@tether/server';
import { type RedisInstance, startRedis, withTimeout } from '@tether/testkit';
import { afterEach } from 'vitest';
import WebSocket from 'ws';
import { RedisStore } from '../src/index.js';

export const HOST = '127.0.0.1';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await withTimeout(c(), 10_000, 'cleanup');
});

/** Runs `cleanup` after the current test, before those registered earlier. */
export function afterTest(cleanup: () => Promise<unknown>): void {
  cleanups.push(cleanup);
}

export interface Node {
  ws: Endpoint;
  url: string;
  store: RedisStore;
  /** Client messages processed by this node, in order. */
  processed: number[];
  /** Close code and side of each connection that closed here. */
  closes: Array<{ code: number; by: string }>;
}

/** A server on the Redis at `redisUrl`, keys under `prefix`, one endpoint at `/ws`. */
export async function node(redisUrl: string, prefix: string): Promise<Node> {
  const store = new RedisStore({ url: redisUrl, prefix, reconnectMaxMs: 100 });
  const tether = new TetherServer({ port: 0, host: HOST, logger: silentLogger, store });
  const ws = tether.endpoint('/ws');
  const processed: number[] = [];
  const closes: Node['closes'] = [];
  ws.onMessage((data) => {
    processed.push(data as number);
  });
  ws.on('close', (e) => closes.push({ code: e.code, by: e.initiatedBy }));
  const address = await tether.listen();
  afterTest(async () => {
    await tether.close({ drainTimeoutMs: 0 });
    await store.close();
  });
  return { ws, url: `ws://${HOST}:${address.port}/ws`, store, processed, closes };
}

/** A client of `urls` (fast reconnects) recording its messages, opens and errors. */
export function client(urls: string | readonly string[]) {
  const c = new TetherClient(urls, {
    WebSocket: WebSocket as never,
    minReconnectDelayMs: 20,
    maxReconnectDelayMs: 100,
  });
  afterTest(() => c.close());
  const got: number[] = [];
  const opens: boolean[] = [];
  const errors: string[] = [];
  c.on('message', (e) => got.push(e.data as number));
  c.on('open', (e) => opens.push(e.resumed));
  c.on('error', (e) => errors.push(e.error.code));
  return { c, got, opens, errors };
}

/** A redis-server with `extraArgs`, on `port` when given; stopped after the test. */
export async function redisAt(extraArgs: string[] = [], port?: number): Promise<RedisInstance> {
  const r = await startRedis(port === undefined ? { extraArgs } : { extraArgs, port });
  afterTest(() => r.stop());
  return r;
}

export const range = (from: number, to: number): number[] =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);
