/**
 * The gateway's delivery guarantee under load and faults (docs/backend.md): 1,000
 * numbered messages across 20 connection cuts, and a backend that answers 503 for 10 s
 * mid-stream. Real hub, real client, the fault proxy, a Node backend on loopback.
 */
import { waitFor, withTimeout } from '@tether/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanUpGateway, client, metric, proxyTo, setup } from './backend-gateway-harness.js';
import { acceptedNumbers } from './backend-helpers.js';
import { HOST, OPS_KEY } from './hub-helpers.js';

afterEach(cleanUpGateway);

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
});
