/**
 * Several Tether servers sharing one real redis-server: live fan-out between them,
 * Redis going away and coming back (with its data, and empty), for topics and sessions.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TetherClient } from '@tether/client';
import { StoreError, silentLogger, TetherServer } from '@tether/server';
import { RedisStore } from '@tether/store-redis';
import {
  type RedisInstance,
  startRedis,
  systemDepMissing,
  waitFor,
  withTimeout,
} from '@tether/testkit';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';

const HOST = '127.0.0.1';
const missing = systemDepMissing('redis-server');

interface Node {
  tether: TetherServer;
  store: RedisStore;
  url: string;
}

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) {
    await withTimeout(c(), 10_000, `cleanup ${c.toString().slice(0, 80)}`);
  }
});

async function redisAt(extraArgs: string[] = [], port?: number): Promise<RedisInstance> {
  const r = await startRedis(port === undefined ? { extraArgs } : { extraArgs, port });
  cleanups.push(() => r.stop());
  return r;
}

async function node(redisUrl: string, prefix: string): Promise<Node> {
  const store = new RedisStore({ url: redisUrl, prefix, reconnectMaxMs: 100 });
  const tether = new TetherServer({ port: 0, host: HOST, logger: silentLogger, store });
  tether.endpoint('/ws', { authorizePublish: () => true });
  const address = await tether.listen();
  cleanups.push(async () => {
    await tether.close({ drainTimeoutMs: 0 });
    await store.close();
  });
  return { tether, store, url: `ws://${HOST}:${address.port}/ws` };
}

function client(url: string): TetherClient {
  const c = new TetherClient(url, {
    WebSocket: WebSocket as never,
    minReconnectDelayMs: 20,
    maxReconnectDelayMs: 200,
  });
  cleanups.push(() => c.close());
  return c;
}

/** Subscribes and records every `pub` (offset, data) and `gap` of the topic. */
function record(c: TetherClient, topic: string) {
  const sub = c.subscribe(topic);
  const pubs: Array<{ epoch: string; offset: number; data: unknown }> = [];
  const gaps: unknown[] = [];
  sub.on('pub', (e) => pubs.push({ epoch: e.epoch, offset: e.offset, data: e.data }));
  sub.on('gap', (e) => gaps.push(e));
  return { sub, pubs, gaps };
}

/** Publishes `data`, retrying while the store is unavailable (bounded). */
function publishRetrying(n: Node, topic: string, data: number): Promise<void> {
  return retrying(() => n.tether.publish(topic, data), `publication ${data}`);
}

/** Runs `op`, again while the store is unavailable (bounded); never twice once it succeeded. */
async function retrying(op: () => Promise<unknown>, what: string): Promise<void> {
  for (let attempt = 0; attempt < 400; attempt++) {
    try {
      await op();
      return;
    } catch (err) {
      if (!(err instanceof StoreError) || err.code !== 'STORE_UNAVAILABLE') throw err;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
  throw new Error(`${what} was never stored`);
}

describe.skipIf(missing)('servers sharing a Redis store', () => {
  it('fans a publication on node A out to subscribers on node B, in offset order, once', async () => {
    const redis = await redisAt();
    const a = await node(redis.url, 'fan:');
    const b = await node(redis.url, 'fan:');
    const onB = [client(b.url), client(b.url), client(b.url)].map((c) => record(c, 'news'));
    const onA = record(client(a.url), 'news');
    await Promise.all([...onB, onA].map((r) => r.sub.ready()));

    // One Redis subscription per node and topic, not one per client.
    const probe = new Redis(redis.url);
    cleanups.push(() => probe.quit());
    const numsub = (await probe.pubsub('NUMSUB', 'fan:p:news')) as [string, number];
    expect(Number(numsub[1])).toBe(2);

    // Entering through both nodes at once: offsets are assigned in Redis, atomically.
    const N = 200;
    await Promise.all(
      Array.from({ length: N }, (_, i) => (i % 2 === 0 ? a : b).tether.publish('news', i + 1)),
    );
    for (const r of [...onB, onA]) {
      await waitFor(() => r.pubs.length >= N, { timeoutMs: 10_000, message: 'all publications' });
      expect(r.pubs.map((p) => p.offset)).toEqual(Array.from({ length: N }, (_, i) => i + 1));
      expect(new Set(r.pubs.map((p) => p.data)).size).toBe(N);
      expect(r.gaps).toEqual([]);
    }
  });

  it('a node starting up leaves the sessions other nodes hold connected', async () => {
    const redis = await redisAt();
    const a = await node(redis.url, 'start:');
    const c = client(a.url);
    await waitFor(() => c.state === 'open');
    const sid = c.sessionId ?? '';
    expect((await a.store.getSession(sid))?.disconnectedAt).toBeNull();
    expect((await a.store.getSession(sid))?.node).toBe(a.store.node);
    // Another node starts: it releases what a previous process of ITS name left behind.
    const b = await node(redis.url, 'start:');
    expect((await b.store.stats()).sessions).toBe(1);
    const record = await a.store.getSession(sid);
    expect(record?.disconnectedAt).toBeNull();
    expect(record?.expiresAt).toBeNull();
  });

  it('refuses new sessions and publications while Redis is down; an empty Redis is an explicit gap', async () => {
    const redis = await redisAt();
    const a = await node(redis.url, 'down:');
    const c = client(a.url);
    const opens: Array<{ resumed: boolean }> = [];
    c.on('open', (e) => opens.push({ resumed: e.resumed }));
    const received: unknown[] = [];
    c.on('message', (e) => received.push(e.data));
    const r = record(c, 't');
    await r.sub.ready();
    for (let i = 1; i <= 3; i++) await a.tether.publish('t', i);
    await waitFor(() => r.pubs.length === 3);
    const oldEpoch = r.pubs[0]?.epoch;
    const oldSid = c.sessionId ?? '';
    const ws = a.tether.endpoints.get('/ws');
    await ws?.sendTo(oldSid, 'before');

    await redis.stop();
    await waitFor(() => !a.store.health().up, { message: 'store reported down' });
    expect(a.store.health().cause).toMatch(/redis/);
    // Nothing is accepted that cannot be stored.
    const refused = await a.tether.publish('t', 4).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(refused).toBeInstanceOf(StoreError);
    expect((refused as StoreError).code).toBe('STORE_UNAVAILABLE');
    // A new client is told to come back later, with a hint.
    const goodbye = await helloRefusal(a.url);
    expect(goodbye).toMatchObject({ code: 1013 });
    expect(goodbye.retryAfter).toBeGreaterThan(0);
    // The open connection stays.
    expect(c.state).toBe('open');

    // Redis comes back EMPTY on the same port.
    await redisAt([], redis.port);
    await waitFor(() => a.store.health().up, { timeoutMs: 10_000, message: 'store back up' });
    await waitFor(() => opens.length >= 2, { timeoutMs: 10_000, message: 'client reconnected' });
    expect(opens.at(-1)?.resumed).toBe(false);
    expect(c.sessionId).not.toBe(oldSid);
    // The old session is gone with the data: a message to it is refused, not swallowed.
    await expect(ws?.sendTo(oldSid, 'after')).rejects.toMatchObject({ code: 'SESSION_NOT_FOUND' });
    await ws?.sendTo(c.sessionId ?? '', 'new');
    await waitFor(() => received.includes('new'), { message: 'the new session takes messages' });
    expect(received).toEqual(['before', 'new']);
    await waitFor(() => r.gaps.length >= 1, { timeoutMs: 10_000, message: 'topic gap signal' });
    expect(r.gaps[0]).toMatchObject({ recovered: false, reason: 'epoch' });
    await a.tether.publish('t', 100);
    await waitFor(() => r.pubs.some((p) => p.data === 100));
    const last = r.pubs.at(-1);
    expect(last?.epoch).not.toBe(oldEpoch);
    expect(last?.offset).toBe(1);
  });

  it('a Redis restarted with its data: every subscriber and every session ends with the full sequence', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tether-redis-aof-'));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    const persistent = ['--appendonly', 'yes', '--appendfsync', 'always', '--dir', dir];
    const redis = await redisAt(persistent);
    const a = await node(redis.url, 'keep:');
    const b = await node(redis.url, 'keep:');
    const clients = [client(a.url), client(b.url), client(b.url)];
    const subs = clients.map((c) => record(c, 'stream'));
    await Promise.all(subs.map((s) => s.sub.ready()));
    // Messages to each session, entering through both nodes (held by one of them).
    const inbox = clients.map((c) => {
      const got: unknown[] = [];
      c.on('message', (e) => got.push(e.data));
      return got;
    });
    const sids = clients.map((c) => c.sessionId ?? '');

    const N = 300;
    let restarted = false;
    const publishing = (async () => {
      for (let i = 1; i <= N; i++) {
        const via = i % 2 === 0 ? a : b;
        await publishRetrying(via, 'stream', i);
        for (const sid of sids) {
          await retrying(
            () => via.tether.endpoints.get('/ws')?.sendTo(sid, i) as Promise<unknown>,
            `message ${i}`,
          );
        }
        if (i === 100) {
          // Mid-stream: Redis stops (SIGTERM: it writes its data) and comes back.
          await redis.stop();
          await redisAt(persistent, redis.port);
          restarted = true;
        }
      }
    })();
    await withTimeout(publishing, 60_000, 'publishing');
    expect(restarted).toBe(true);
    for (const s of subs) {
      await waitFor(() => s.pubs.length >= N, { timeoutMs: 15_000, message: 'full sequence' });
      expect(s.pubs.map((p) => p.offset)).toEqual(Array.from({ length: N }, (_, i) => i + 1));
      expect(s.pubs.map((p) => p.data)).toEqual(Array.from({ length: N }, (_, i) => i + 1));
      expect(s.gaps).toEqual([]);
    }
    for (const got of inbox) {
      await waitFor(() => got.length >= N, { timeoutMs: 15_000, message: 'every message' });
      expect(got).toEqual(Array.from({ length: N }, (_, i) => i + 1));
    }
  });
});

/** Opens a raw socket, says hello, and resolves with the `goodbye` it gets. */
function helloRefusal(url: string): Promise<{ code: number; retryAfter?: number }> {
  return withTimeout(
    new Promise((resolve, reject) => {
      const ws = new WebSocket(url, 'tether.v1');
      ws.on('open', () => ws.send(JSON.stringify({ t: 'hello', v: 1 })));
      ws.on('message', (raw) => {
        const frame = JSON.parse(String(raw)) as { t: string; code: number; retryAfter?: number };
        if (frame.t === 'goodbye') {
          resolve(frame);
          ws.close();
        }
      });
      ws.on('error', reject);
    }),
    5_000,
    'goodbye',
  );
}
