/**
 * The hub forwards client messages, requests, connects, publications, subscriptions and
 * disconnects to an HTTP backend (docs/backend.md): a real hub in this process, a small
 * Node backend on loopback, the real client, and the fault proxy for connection cuts.
 */
import { getFreePort, waitFor, withTimeout } from '@tether/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanUpGateway, client, metric, onCleanUp, setup } from './backend-gateway-harness.js';
import { acceptedNumbers, startBackend } from './backend-helpers.js';
import { HOST, startTestHub } from './hub-helpers.js';

afterEach(cleanUpGateway);

describe('messages', () => {
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
    // A final refusal (the server's ReplyError): the backend's HTTP status in its details.
    expect((outcomes[4] as PromiseRejectedResult).reason).toMatchObject({
      final: true,
      details: { status: 422 },
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
    onCleanUp(() => backend.close());
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
      details: { status: 404 },
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
