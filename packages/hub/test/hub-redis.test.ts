/**
 * The hub with `store: redis://...` (`tether serve --store redis://...`): hubs sharing a
 * real redis-server. A publication through one hub's HTTP API reaches a client of the
 * other; `/readyz` says when Redis is gone, and why; `redis.password`
 * (TETHER_REDIS_PASSWORD) opens a Redis that requires one, and is never printed.
 */
import { TetherClient } from '@tether/client';
import { silentLogger } from '@tether/server';
import { type RedisInstance, startRedis, systemDepMissing, waitFor } from '@tether/testkit';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type ServeHandle, type ServeOptions, serve } from '../src/index.js';
import { type Captured, capture } from './hub-helpers.js';

const HOST = '127.0.0.1';
const KEY = 'k'.repeat(32);
const missing = systemDepMissing('redis-server');
const cleanups: Array<() => Promise<unknown>> = [];

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function hub(
  store: string,
  extra: ServeOptions = {},
  io: Captured = capture(),
): Promise<ServeHandle> {
  const h = await serve(
    {
      port: 0,
      host: HOST,
      store: store as ServeOptions['store'],
      logger: silentLogger,
      api: { key: KEY },
      ...extra,
    },
    io,
  );
  cleanups.push(() => h.close({ drainTimeoutMs: 500 }));
  return h;
}

describe.skipIf(missing)('tether serve --store redis://', () => {
  it('shares topics between hubs and reports Redis down on /readyz', async () => {
    const redis: RedisInstance = await startRedis();
    cleanups.push(() => redis.stop());
    const a = await hub(`${redis.url}/0`);
    const b = await hub(`${redis.url}/0`);
    const c = new TetherClient(`ws://${HOST}:${b.port}/ws`, { WebSocket: WebSocket as never });
    cleanups.push(() => c.close());
    const got: unknown[] = [];
    const sub = c.subscribe('demo:news');
    sub.on('pub', (e) => got.push(e.data));
    await sub.ready();

    for (let i = 1; i <= 20; i++) {
      const res = await fetch(`http://${HOST}:${a.port}/api/publish`, {
        method: 'POST',
        headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ topic: 'demo:news', data: i }),
      });
      expect(res.status).toBe(200);
      await res.arrayBuffer();
    }
    await waitFor(() => got.length === 20, { timeoutMs: 10_000 });
    expect(got).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));

    // The status and the body: every answer is read to its end.
    const ready = async () => {
      const r = await fetch(`http://${HOST}:${a.port}/readyz`);
      return { status: r.status, text: await r.text() };
    };
    expect((await ready()).status).toBe(200);
    await redis.stop();
    const down = await waitFor(
      async () => {
        const r = await ready();
        return r.status === 503 ? r.text : undefined;
      },
      { timeoutMs: 10_000, message: '/readyz 503' },
    );
    expect(down).toMatch(/store/);
    expect(down).toMatch(/redis/i);
  });

  it('opens a Redis that requires a password with redis.password, and prints no password', async () => {
    const secret = 'redis-test-password-0123';
    const redis: RedisInstance = await startRedis();
    cleanups.push(() => redis.stop());
    // Set once it answers: the start helper's readiness check sends no password.
    const admin = new Redis(redis.url);
    await admin.config('SET', 'requirepass', secret);
    admin.disconnect();
    const io = capture();
    const url = redis.url.replace('redis://', `redis://:${secret}@`);
    // In the URL: used, and shown masked.
    const a = await hub(`${url}/0`, {}, io);
    const readyA = await fetch(`http://${HOST}:${a.port}/readyz`);
    expect(readyA.status).toBe(200);
    await readyA.arrayBuffer();
    // From the setting (TETHER_REDIS_PASSWORD): the URL holds none.
    const b = await hub(`${redis.url}/0`, { redis: { password: secret } }, io);
    const readyB = await fetch(`http://${HOST}:${b.port}/readyz`);
    expect(readyB.status).toBe(200);
    await readyB.arrayBuffer();
    expect([...io.out, ...io.err].join('\n')).not.toContain(secret);
    expect(io.out.join('\n')).toMatch(/store: redis:\/\/:\*\*\*@127\.0\.0\.1:\d+\/0 \(shared\)/);
  });
});
