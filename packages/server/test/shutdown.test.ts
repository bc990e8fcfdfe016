import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createFaultProxy, type FaultProxy } from '@tether/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type CloseEvent,
  MemoryStore,
  ServerStateError,
  silentLogger,
  TetherServer,
} from '../src/index.js';
import { HOST, RawClient, rawUpgrade, type Started, startTether, until } from './helpers.js';

let started: Started | undefined;
let proxy: FaultProxy | undefined;
const clients: RawClient[] = [];
const httpServers: Server[] = [];
const extraTethers: TetherServer[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const tether of extraTethers.splice(0)) await tether.close({ drainTimeoutMs: 200 });
  for (const http of httpServers.splice(0)) {
    http.closeAllConnections();
    await new Promise((resolve) => http.close(resolve));
  }
  proxy?.resume();
  await started?.tether.close({ drainTimeoutMs: 200 });
  await proxy?.close();
  started = undefined;
  proxy = undefined;
});

/** Drains a server of `count` raw clients at `restartReconnectRate: rate`; the goodbye hints they got. */
async function drainHints(count: number, rate: number): Promise<number[]> {
  started = await startTether({}, { restartReconnectRate: rate });
  const many = await Promise.all(
    Array.from({ length: count }, () => RawClient.connect(started?.url ?? '')),
  );
  clients.push(...many);
  await started.tether.close({ drainTimeoutMs: 2_000 });
  await Promise.all(many.map((c) => c.waitClosed()));
  return many.map((c) => c.frames.at(-1)?.retryAfter as number);
}

describe('graceful shutdown', () => {
  it('sends goodbye (1012, jittered retryAfter) then closes 1012 to 100 clients, and resolves', async () => {
    started = await startTether();
    const { tether, url, endpoint } = started;
    const closes: CloseEvent[] = [];
    endpoint.on('close', (e) => closes.push(e));
    const many = await Promise.all(Array.from({ length: 100 }, () => RawClient.connect(url)));
    clients.push(...many);
    expect(endpoint.connections.size).toBe(100);

    await tether.close({ reason: 'deploy', retryAfterMs: 1000, retrySpreadMs: 4000 });

    const outcomes = await Promise.all(many.map((c) => c.waitClosed()));
    const hints: number[] = [];
    for (const [i, c] of many.entries()) {
      expect(outcomes[i]).toEqual({ code: 1012, reason: 'deploy' });
      const last = c.frames[c.frames.length - 1];
      expect(last).toMatchObject({ t: 'goodbye', code: 1012, reason: 'deploy' });
      hints.push(last?.retryAfter as number);
    }
    for (const hint of hints) {
      expect(hint).toBeGreaterThanOrEqual(1000);
      expect(hint).toBeLessThanOrEqual(5000);
    }
    // Jittered per client: a crowd does not come back at one instant.
    expect(new Set(hints).size).toBeGreaterThan(50);
    expect(closes).toHaveLength(100);
    expect(closes.every((e) => e.code === 1012 && e.initiatedBy === 'server')).toBe(true);
    expect(tether.stats().state).toBe('closed');
    expect(tether.address()).toBeUndefined();
  });

  it('spreads the hints over connections / restartReconnectRate when that is wider than 4 s', async () => {
    // 40 connections at 4 per second: a 10 s spread, hints in [1 s, 11 s]. With the fixed
    // 4 s spread every hint was at most 5 s.
    const hints = await drainHints(40, 4);
    for (const hint of hints) {
      expect(hint).toBeGreaterThanOrEqual(1000);
      expect(hint).toBeLessThanOrEqual(11_000);
    }
    // 40 uniform draws over [1 s, 11 s]: all of them at or below 5 s has odds of 0.4^40.
    expect(Math.max(...hints)).toBeGreaterThan(5_000);
  });

  it('keeps the 4 s spread below restartReconnectRate × 4 connections, and refuses a bad rate', async () => {
    expect(() => new TetherServer({ restartReconnectRate: 0 })).toThrow(/restartReconnectRate/);
    expect(() => new TetherServer({ restartReconnectRate: 1.5 })).toThrow(/restartReconnectRate/);
    for (const hint of await drainHints(30, 10)) expect(hint).toBeLessThanOrEqual(5_000);
  });

  it('lets an in-flight handler finish: its reply arrives before the close; new upgrades get 503', async () => {
    // Attached: the application's HTTP server keeps listening, so late upgrades reach the
    // draining endpoint and get 503 (a standalone server stops listening at once instead).
    const http = createServer();
    const port = await new Promise<number>((resolve) =>
      http.listen(0, HOST, () => resolve((http.address() as AddressInfo).port)),
    );
    const tether = new TetherServer({ server: http, logger: silentLogger });
    const endpoint = tether.endpoint('/ws');
    const url = `ws://${HOST}:${port}/ws`;
    httpServers.push(http);
    extraTethers.push(tether);
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    endpoint.handle('slow', async () => {
      await gate;
      return 'finished';
    });
    const idle = await RawClient.connect(url);
    const busy = await RawClient.connect(url);
    clients.push(idle, busy);
    busy.sendJson({ t: 'req', id: 1, method: 'slow' });
    await until(() => endpoint.stats().inFlight === 1, 'handler in flight');

    const closing = tether.close({ drainTimeoutMs: 5000 });
    const goodbye = await busy.next((f) => f.t === 'goodbye');
    expect(goodbye).toMatchObject({ code: 1012 });
    expect((await idle.waitClosed()).code).toBe(1012);
    expect(busy.ws.readyState).toBe(busy.ws.OPEN);

    const refused = await rawUpgrade(port, '/ws');
    expect(refused.status).toBe(503);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);

    release();
    const res = await busy.next((f) => f.t === 'res');
    expect(res).toMatchObject({ id: 1, ok: true, data: 'finished' });
    expect((await busy.waitClosed()).code).toBe(1012);
    await closing;
    expect(endpoint.stats().refused.draining).toBe(1);
  });

  it('terminates a client that does not close within the drain timeout', async () => {
    started = await startTether({ closeGraceMs: 60_000 });
    const { tether, port, endpoint } = started;
    proxy = await createFaultProxy({ target: { host: HOST, port } });
    const closes: CloseEvent[] = [];
    endpoint.on('close', (e) => closes.push(e));
    const stuck = await RawClient.connect(`ws://${HOST}:${proxy.port}/ws`);
    clients.push(stuck);
    proxy.pause(); // the close frame never arrives, the client never answers
    await tether.close({ drainTimeoutMs: 200 });
    expect(closes).toHaveLength(1);
    expect(closes[0]).toMatchObject({ code: 1012, clean: false, initiatedBy: 'server' });
    expect(endpoint.connections.size).toBe(0);
  });

  it('is idempotent and refuses new endpoints once closing', async () => {
    started = await startTether();
    const { tether } = started;
    const a = tether.close();
    const b = tether.close();
    expect(a).toBe(b);
    await a;
    expect(() => tether.endpoint('/late')).toThrow(ServerStateError);
    await expect(tether.listen()).rejects.toThrow(ServerStateError);
  });

  it("waits for the release of a previous process's sessions before it resolves", async () => {
    // A store the application owns and closes after the server: a release still running
    // when close() resolved would meet a closed store.
    let finish = (): void => {};
    const store = new (class extends MemoryStore {
      released = false;
      override releaseSessions(now: number, expiresAt: number, node?: string) {
        return new Promise<number>((resolve) => {
          finish = () => resolve(super.releaseSessions(now, expiresAt, node));
        }).finally(() => {
          this.released = true;
        });
      }
    })();
    const tether = new TetherServer({ port: 0, host: HOST, logger: silentLogger, store });
    tether.endpoint('/ws');
    await tether.listen();
    let closed = false;
    const closing = tether.close({ drainTimeoutMs: 0 }).then(() => {
      closed = true;
    });
    await until(() => tether.stats().connections === 0, 'the drain');
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(closed).toBe(false);
    finish();
    await closing;
    expect(store.released).toBe(true);
    await store.close();
  });
});
