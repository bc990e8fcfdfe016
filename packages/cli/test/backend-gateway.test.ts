/**
 * The hub forwards client messages, requests, connects, publications, subscriptions and
 * disconnects to an HTTP backend (docs/backend.md): a real hub in this process, a small
 * Node backend on loopback, the real client, and the fault proxy for connection cuts.
 */
import { TetherClient } from '@tether/client';
import {
  createFaultProxy,
  type FaultProxy,
  getFreePort,
  waitFor,
  withTimeout,
} from '@tether/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { ServeHandle } from '../src/index.js';
import { acceptedNumbers, startBackend, type TestBackend } from './backend-helpers.js';
import { closeHubs, HOST, OPS_KEY, startTestHub } from './hub-helpers.js';

const SECRET = 'backend-secret-that-is-32-chars!!';
const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
  await closeHubs();
});

async function setup(
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

function client(url: string, options: ConstructorParameters<typeof TetherClient>[1] = {}) {
  const c = new TetherClient(url, {
    WebSocket,
    minReconnectDelayMs: 20,
    maxReconnectDelayMs: 200,
    ...options,
  });
  cleanups.push(() => c.close());
  return c;
}

async function proxyTo(hub: ServeHandle): Promise<FaultProxy> {
  const proxy = await createFaultProxy({ target: { host: HOST, port: hub.port } });
  cleanups.push(() => proxy.close());
  return proxy;
}

async function metric(hub: ServeHandle, name: string, labels: string): Promise<number> {
  const res = await fetch(`${hub.url}/metrics`, { headers: { 'X-Api-Key': OPS_KEY } });
  const text = await res.text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line === undefined ? 0 : Number(line.split(' ').pop());
}

describe('messages', () => {
  it('1,000 numbered send()s across 20 connection cuts: each seq once, in order, every promise resolves', async () => {
    const { backend, hub } = await setup();
    const proxy = await proxyTo(hub);
    // Cuts come faster than the 5 s of uptime that reset the attempt counter: without this
    // the circuit breaker would (rightly) pause reconnecting for 60 s after the fifth.
    const c = client(`ws://${HOST}:${proxy.port}/ws`, { breakerThreshold: 0 });
    await c.connect();
    const total = 1000;
    const sends: Array<Promise<void>> = [];
    // 20 cuts at random points of the stream, each once the link is up and the backend
    // made progress since the previous one.
    const cutAt = new Set<number>();
    while (cutAt.size < 20) cutAt.add(10 + Math.floor(Math.random() * 980));
    let cuts = 0;
    for (let n = 1; n <= total; n += 1) {
      sends.push(c.send({ n }));
      if (!cutAt.has(n)) continue;
      const seen = acceptedNumbers(backend.calls).length;
      await waitFor(
        () => (c.state === 'open' && acceptedNumbers(backend.calls).length > seen) || undefined,
        { timeoutMs: 10_000, message: `the link up and progress before cut ${cuts + 1}` },
      );
      if (proxy.resetAll() > 0) cuts += 1;
    }
    await withTimeout(Promise.all(sends), 60_000, 'every send() resolved');
    expect(cuts).toBe(20);
    expect(proxy.totalConnections).toBeGreaterThanOrEqual(21);
    const accepted = acceptedNumbers(backend.calls);
    expect(accepted).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    // Every call was signed and carried the session's idempotency key for its seq.
    const messages = backend.calls.filter((call) => call.event === 'message');
    expect(messages.every((call) => call.signed === true)).toBe(true);
    const sid = c.sessionId;
    expect(messages.map((call) => call.headers['idempotency-key'])).toEqual(
      messages.map((call) => `${sid}:${call.body.seq}`),
    );
    expect(messages[0]?.body).toMatchObject({ user: null, session: sid, seq: 1, data: { n: 1 } });
  }, 90_000);

  it('a backend answering 503 for 10 s mid-stream: nothing lost or acked early, order holds, it resumes; /metrics counts it', async () => {
    const { backend, hub } = await setup();
    let outageUntil = 0;
    const accepted = new Set<number>();
    backend.route = (call) => {
      if (call.event !== 'message') return { status: 200, body: {} };
      const n = (call.body.data as { n: number }).n;
      if (n === 101 && outageUntil === 0) outageUntil = Date.now() + 10_000;
      if (Date.now() < outageUntil) return { status: 503, body: { error: 'maintenance' } };
      accepted.add(n);
      return { status: 200, body: {} };
    };
    const c = client(`ws://${HOST}:${hub.port}/ws`);
    await c.connect();
    const early: number[] = [];
    const sends = Array.from({ length: 300 }, (_, i) =>
      c.send({ n: i + 1 }).then(() => {
        if (!accepted.has(i + 1)) early.push(i + 1);
      }),
    );
    // During the outage: the hub stays ready, /readyz names the degraded backend.
    await waitFor(() => outageUntil > 0 || undefined, { timeoutMs: 10_000, message: 'outage' });
    await waitFor(
      async () =>
        (await metric(hub, 'tether_backend_retries_total', 'event="message"')) > 0 || undefined,
      {
        timeoutMs: 10_000,
        message: 'a retry',
      },
    );
    const ready = await fetch(`${hub.url}/readyz`);
    expect(ready.status).toBe(200);
    const body = (await ready.json()) as { checks: Record<string, string> };
    expect(body.checks.backend).toMatch(/degraded: .*HTTP 503/);
    const stats = (await (
      await fetch(`${hub.url}/stats`, { headers: { 'X-Api-Key': OPS_KEY } })
    ).json()) as { backend: { state: string; messagesWaiting: number } };
    expect(stats.backend).toMatchObject({ state: 'degraded', messagesWaiting: 1 });

    await withTimeout(Promise.all(sends), 40_000, 'every send() resolved after the outage');
    expect(Date.now()).toBeGreaterThanOrEqual(outageUntil);
    expect(early).toEqual([]);
    expect(acceptedNumbers(backend.calls)).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
    expect(
      await metric(hub, 'tether_backend_requests_total', 'event="message",outcome="failed"'),
    ).toBeGreaterThan(0);
    expect(await metric(hub, 'tether_backend_requests_total', 'event="message",outcome="ok"')).toBe(
      300,
    );
    expect((await (await fetch(`${hub.url}/readyz`)).json()) as unknown).toMatchObject({
      checks: { backend: 'ok' },
    });
  }, 60_000);

  it("a 4xx rejects that send() with the backend's status and message; the next ones go through", async () => {
    const { backend, hub } = await setup();
    backend.route = (call) =>
      (call.body.data as { n?: number } | undefined)?.n === 5
        ? { status: 422, body: { error: { message: 'n=5 is not allowed' } } }
        : { status: 200, body: {} };
    const c = client(`ws://${HOST}:${hub.port}/ws`);
    await c.connect();
    const outcomes = await withTimeout(
      Promise.allSettled(Array.from({ length: 10 }, (_, i) => c.send({ n: i + 1 }))),
      10_000,
      'the sends',
    );
    expect(outcomes[4]).toMatchObject({
      status: 'rejected',
      reason: { code: 'REJECTED', message: expect.stringContaining('n=5 is not allowed') },
    });
    expect((outcomes[4] as PromiseRejectedResult).reason.message).toContain('422');
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(9);
    expect(acceptedNumbers(backend.calls)).toEqual([1, 2, 3, 4, 6, 7, 8, 9, 10]);
    // Final: asked once, never retried.
    expect(
      backend.calls.filter((call) => (call.body.data as { n?: number })?.n === 5),
    ).toHaveLength(1);
  });
});

describe('a backend that is not there yet', () => {
  it('retries a message while its connection is refused, and delivers it once the backend listens', async () => {
    const port = await getFreePort();
    const { hub } = await startTestHub({
      backend: { url: `http://${HOST}:${port}`, retry: { minDelayMs: 20, maxDelayMs: 200 } },
    });
    const c = client(`ws://${HOST}:${hub.port}/ws`);
    await c.connect();
    let resolved = false;
    const sent = c.send({ n: 1 }).then(() => {
      resolved = true;
    });
    await waitFor(
      async () =>
        (await metric(
          hub,
          'tether_backend_requests_total',
          'event="message",outcome="unreachable"',
        )) >= 2 || undefined,
      { timeoutMs: 10_000, message: 'refused calls counted' },
    );
    expect(resolved).toBe(false);
    const backend = await startBackend(undefined, port);
    cleanups.push(() => backend.close());
    await withTimeout(sent, 10_000, 'the send once the backend listens');
    expect(acceptedNumbers(backend.calls)).toEqual([1]);
    expect(backend.calls[0]?.headers['x-tether-signature']).toBeUndefined();
  });
});

describe('requests', () => {
  it("returns the backend's body; a 4xx rejects with its message; a 5xx is BACKEND_UNAVAILABLE", async () => {
    const { backend, hub } = await setup();
    backend.route = (call) => {
      if (call.event !== 'request') return { status: 200, body: {} };
      if (call.body.method === 'missing') return { status: 404, body: { detail: 'no such thing' } };
      if (call.body.method === 'broken') return { status: 500, body: 'oops' };
      return { status: 200, body: { method: call.body.method, got: call.body.data } };
    };
    const c = client(`ws://${HOST}:${hub.port}/ws`);
    await c.connect();
    await expect(c.request('orders.get', { id: 7 })).resolves.toEqual({
      method: 'orders.get',
      got: { id: 7 },
    });
    await expect(c.request('orders.get', { id: 8 }, { reliable: true })).resolves.toEqual({
      method: 'orders.get',
      got: { id: 8 },
    });
    await expect(c.request('missing')).rejects.toMatchObject({
      code: 'REJECTED',
      message: expect.stringContaining('no such thing'),
    });
    await expect(c.request('broken')).rejects.toMatchObject({ code: 'BACKEND_UNAVAILABLE' });
    // Requests are not retried.
    expect(backend.calls.filter((call) => call.body.method === 'broken')).toHaveLength(1);
  });
});

describe('connect', () => {
  it('admits with the user, topics and welcome data the backend gives, and refuses with 4001/4003 and its reason', async () => {
    const { backend, hub } = await setup(
      { events: ['message', 'request', 'connect', 'disconnect'] },
      { topics: { 'room:*': { publish: 'authenticated', subscribe: 'authenticated' } } },
    );
    backend.route = (call) => {
      if (call.event !== 'connect') return { status: 200, body: {} };
      const token = call.body.token;
      if (token === 'good')
        return {
          status: 200,
          body: {
            user: 'dev-7',
            topics: { publish: ['room:a'], subscribe: ['room:*'] },
            data: { plan: 'pro' },
          },
        };
      if (token === 'banned') return { status: 403, body: { detail: 'device is banned' } };
      return { status: 401, body: { error: { message: 'unknown token' } } };
    };
    const good = client(`ws://${HOST}:${hub.port}/ws`, { token: 'good' });
    const opened = new Promise((resolve) => good.on('open', (e) => resolve(e.welcomeData)));
    await good.connect();
    expect(await withTimeout(opened, 5_000, 'open')).toEqual({ plan: 'pro' });
    await good.send({ hi: 1 });
    const msg = backend.calls.find((call) => call.event === 'message');
    expect(msg?.body).toMatchObject({ user: 'dev-7', data: { hi: 1 } });
    await good.publish('room:a', { x: 1 });
    await expect(good.publish('room:b', { x: 1 })).rejects.toMatchObject({ code: 'FORBIDDEN' });

    for (const [token, code, reason] of [
      ['banned', 4003, 'device is banned'],
      ['nope', 4001, 'unknown token'],
    ] as const) {
      const refused = client(`ws://${HOST}:${hub.port}/ws`, { token });
      const closed = new Promise<{ code: number; reason: string; willReconnect: boolean }>(
        (resolve) => refused.on('close', resolve),
      );
      void refused.connect().catch(() => {});
      expect(await withTimeout(closed, 5_000, `close of ${token}`)).toMatchObject({
        code,
        reason,
        willReconnect: false,
      });
    }
    await good.close();
    await waitFor(() => backend.calls.find((call) => call.event === 'disconnect'), {
      timeoutMs: 5_000,
      message: 'disconnect notification',
    });
    expect(backend.calls.find((call) => call.event === 'disconnect')?.body).toMatchObject({
      user: 'dev-7',
      code: 1000,
    });
  });
});

describe('publish and subscribe', () => {
  it('the backend allows, refuses or rewrites a publication, and allows or refuses a subscribe', async () => {
    const { backend, hub } = await setup(
      { events: ['publish', 'subscribe'] },
      { topics: { '*': { publish: 'anyone', subscribe: 'anyone' } } },
    );
    backend.route = (call) => {
      if (call.event === 'subscribe')
        return call.body.topic === 'secret'
          ? { status: 403, body: { detail: 'not for you' } }
          : { status: 200 };
      if (call.event === 'publish') {
        const text = (call.body.data as { text: string }).text;
        if (text === 'spam') return { status: 422, body: { detail: 'spam is refused' } };
        return { status: 200, body: { data: { text: text.toUpperCase(), checked: true } } };
      }
      return { status: 200, body: {} };
    };
    const c = client(`ws://${HOST}:${hub.port}/ws`);
    await c.connect();
    const sub = c.subscribe('room');
    const it = sub[Symbol.asyncIterator]();
    await c.publish('room', { text: 'hi' });
    await expect(c.publish('room', { text: 'spam' })).rejects.toMatchObject({
      code: 'FORBIDDEN',
      message: 'spam is refused',
    });
    const first = await withTimeout(it.next(), 5_000, 'publication');
    expect(first.value).toMatchObject({ data: { text: 'HI', checked: true } });
    const secretErrors: unknown[] = [];
    c.on('error', ({ error }) => secretErrors.push(error));
    c.subscribe('secret');
    await waitFor(() => secretErrors.find((e) => (e as { code?: string }).code === 'FORBIDDEN'), {
      timeoutMs: 5_000,
      message: 'refused subscribe',
    });
  });
});

describe('no backend', () => {
  it('a send() is rejected with NO_HANDLER at once and blocks nothing after it', async () => {
    const { hub } = await startTestHub({});
    const c = client(`ws://${HOST}:${hub.port}/ws`);
    await c.connect();
    await expect(withTimeout(c.send({ text: 'hello' }), 5_000, 'send')).rejects.toMatchObject({
      code: 'NO_HANDLER',
    });
    await expect(
      withTimeout(c.request('anything', null, { reliable: true }), 5_000, 'request'),
    ).rejects.toMatchObject({ code: 'NO_HANDLER' });
    expect(c.stats().queued).toBe(0);
  });
});
