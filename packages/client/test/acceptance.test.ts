/**
 * Acceptance: the client against the real server through real failures —
 * a crash and restart mid-stream, a final 4001, a restart announced with 1012
 * and retry-after to 200 clients, and a half-open link.
 */
import { createFaultProxy, waitFor, withTimeout as withDeadline } from '@tether/testkit';
import { describe, expect, it } from 'vitest';
import { FinalCloseError, type RetryEvent } from '../src/index.js';
import { HOST, type RunningServer } from './helpers/real-server.js';
import { useRealSetup } from './helpers/real-setup.js';

const { client, defer, server } = useRealSetup(
  { minReconnectDelayMs: 50, maxReconnectDelayMs: 250 },
  1000,
);

describe('acceptance', () => {
  it('survives the server being killed and restarted mid-stream, and loses no message', async () => {
    const TOTAL = 300;
    const received: number[] = [];
    const track = (s: RunningServer) =>
      s.endpoint.on('message', ({ data }) => received.push(data as number));
    let s = await server();
    track(s);
    const c = client(s.url);
    await c.connect();
    const sends: Promise<void>[] = [];
    // Stream while the server dies and comes back; the outbox carries the gap.
    for (let n = 1; n <= TOTAL; n++) {
      sends.push(c.send(n));
      if (n === 100) {
        await waitFor(() => received.length >= 50, { message: 'stream under way' });
        await s.kill();
        await waitFor(() => c.state !== 'open', { message: 'the client noticed the crash' });
      }
      if (n === 200) {
        s = await server({}, s.port);
        track(s);
      }
      if (n % 20 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.all(sends); // every send acknowledged
    expect(c.state).toBe('open');
    await expect(c.request('echo', 'after restart')).resolves.toBe('after restart');
    // Audit: every number arrived; first arrivals in order; duplicates only from the
    // messages in flight at the crash (at-least-once across a lost session).
    const firsts = received.filter((n, i) => received.indexOf(n) === i);
    expect(firsts).toEqual(Array.from({ length: TOTAL }, (_, i) => i + 1));
    expect(received.length - TOTAL).toBeLessThan(100);
    expect(c.stats().dropsByCode[1006]).toBe(1);
  });

  it('stops when the server closes with 4001 and raises the typed error', async () => {
    const s = await server();
    s.endpoint.on('connection', (conn) => {
      setTimeout(() => conn.close(4001, 'session revoked'), 20);
    });
    const c = client(s.url);
    const errors: FinalCloseError[] = [];
    c.on('error', ({ error }) => {
      if (error instanceof FinalCloseError) errors.push(error);
    });
    await c.connect();
    await waitFor(() => c.state === 'closed', { message: 'client stopped' });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({
      code: 'UNAUTHORIZED',
      closeCode: 4001,
      closeReason: 'session revoked',
    });
    expect(errors[0]?.hint).toMatch(/Re-authenticate/);
    expect(c.stats().attempts).toBe(1);
  });

  it('200 clients told "1012, retry after 1 s" come back spread over the hinted window', async () => {
    const N = 200;
    const HINT = 1000;
    const endpointOptions = { maxConnectionsPerIp: 1000 };
    let s = await server(endpointOptions);
    const clients = Array.from({ length: N }, () => client(s.url));
    await withDeadline(
      Promise.all(clients.map((c) => c.connect())),
      20_000,
      'all clients connected',
    );
    const retries: RetryEvent[] = [];
    const reopenedAt: number[] = [];
    let closedAt = 0;
    for (const c of clients) {
      c.once('retry', (r) => retries.push(r));
      c.on('open', () => {
        if (closedAt) reopenedAt.push(performance.now());
      });
    }
    closedAt = performance.now();
    // Graceful restart: goodbye(1012, retryAfter exactly HINT) then close 1012.
    await s.tether.close({ retryAfterMs: HINT, retrySpreadMs: 0, drainTimeoutMs: 5000 });
    s = await server(endpointOptions, s.port);
    await waitFor(() => retries.length === N, { message: 'every client scheduled a retry' });
    expect(
      retries.every((r) => r.kind === 'hint' && r.closeCode === 1012 && r.retryAfterMs === HINT),
    ).toBe(true);
    // The computed delays cover the window [HINT, HINT + HINT] instead of bunching up.
    const delays = retries.map((r) => r.delayMs);
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(HINT);
    expect(Math.max(...delays)).toBeLessThanOrEqual(2 * HINT);
    expect(Math.max(...delays) - Math.min(...delays)).toBeGreaterThan(0.8 * HINT);
    const buckets = new Array(10).fill(0) as number[];
    for (const d of delays) buckets[Math.min(9, Math.floor(((d - HINT) / HINT) * 10))]! += 1;
    expect(Math.max(...buckets)).toBeLessThan(N / 4); // no tenth of the window holds a quarter
    expect(buckets.filter((b) => b > 0).length).toBeGreaterThanOrEqual(8);
    // And they really came back, over a spread of real time, to the restarted server.
    await waitFor(() => reopenedAt.length === N, {
      timeoutMs: 20_000,
      message: 'every client reconnected',
    });
    expect(Math.max(...reopenedAt) - Math.min(...reopenedAt)).toBeGreaterThan(0.25 * HINT);
    expect(s.endpoint.connections.size).toBe(N);
  });

  it('detects a half-open link by its heartbeat (4008) and replaces it', async () => {
    // Seconds, not 300 ms: on a loaded machine a sub-second deadline fakes a dead link
    // before the pause; the exact deadline is a ManualClock test (server heartbeat.test.ts).
    const s = await server({ heartbeatIntervalMs: 1_000, heartbeatTimeoutMs: 2_000 });
    const proxy = await createFaultProxy({ target: { host: HOST, port: s.port } });
    defer(() => proxy.close());
    const c = client(`ws://${HOST}:${proxy.port}/ws`);
    await c.connect();
    await expect(c.request('echo', 1)).resolves.toBe(1);
    const closed = new Promise<number>((resolve) => c.once('close', ({ code }) => resolve(code)));
    proxy.pause(); // no byte, FIN or RST gets through: only the heartbeat can tell
    expect(await closed).toBe(4008);
    proxy.resume();
    await waitFor(() => c.state === 'open' && c.stats().connects === 2, {
      message: 'a new connection replaced it',
    });
    await expect(c.request('echo', 2)).resolves.toBe(2);
    expect(c.stats().dropsByCode[4008]).toBe(1);
  });
});
