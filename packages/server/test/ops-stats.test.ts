import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ManualClock } from '@tether/common';
import { waitFor } from '@tether/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import type { TetherServer } from '../src/index.js';
import {
  createOpsHandler,
  OPS_DEFAULTS,
  type OpsHandlerOptions,
  StatsSampler,
  TetherMetrics,
} from '../src/ops/index.js';
import { RawClient, startTether } from './helpers.js';

const servers: TetherServer[] = [];
const clients: RawClient[] = [];
const samplers: StatsSampler[] = [];
const https: Server[] = [];
afterEach(async () => {
  for (const s of samplers.splice(0)) s.stop();
  for (const c of clients.splice(0)) c.close();
  await Promise.all(servers.splice(0).map((s) => s.close({ drainTimeoutMs: 200 })));
  await Promise.all(https.splice(0).map((h) => new Promise((r) => h.close(r))));
});

/** The status of a request, its body read to the end (an unread body stays a pending stream). */
async function statusOf(url: string, init?: RequestInit): Promise<number> {
  const response = await fetch(url, init);
  await response.arrayBuffer();
  return response.status;
}

/** An HTTP server answering with the ops handler only (404 elsewhere). */
async function opsServer(options: OpsHandlerOptions): Promise<string> {
  const handler = createOpsHandler(options);
  const http = createServer((req, res) => {
    if (!handler(req, res)) {
      res.writeHead(404);
      res.end();
    }
  });
  https.push(http);
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
}

describe('StatsSampler', () => {
  it('bounds recent errors per kind and in total, so a flood of one kind keeps the others', async () => {
    const { tether } = await startTether();
    servers.push(tether);
    const sampler = new StatsSampler(tether);
    samplers.push(sampler);
    sampler.recordError({ kind: 'store', message: 'store stats failed: disk full' });
    // A stranger's floods: refused tokens, abnormal closes and API 401s, as many as they
    // like, with long messages.
    for (const kind of ['auth', 'close', 'api']) {
      for (let i = 0; i < 10_000; i += 1) {
        sampler.recordError({ kind, code: 4001, message: `${kind} ${i} ${'x'.repeat(2000)}` });
      }
    }
    const errors = sampler.report().errors;
    const count = (kind: string): number => errors.filter((e) => e.kind === kind).length;
    expect(errors.length).toBe(OPS_DEFAULTS.recentErrors);
    expect(count('store')).toBe(1);
    for (const kind of ['auth', 'close', 'api']) {
      expect(count(kind), kind).toBeLessThanOrEqual(OPS_DEFAULTS.recentErrorsPerKind);
      expect(count(kind), kind).toBeGreaterThanOrEqual(16);
    }
    // The newest are kept, newest first.
    expect(errors[0]?.message).toMatch(/^api 9999 /);
    for (const e of errors)
      expect(e.message.length).toBeLessThanOrEqual(OPS_DEFAULTS.recentErrorBytes);
  });

  it('reports rates per interval, closes by code over time, RTT percentiles and a bounded history', async () => {
    const clock = new ManualClock();
    const { tether, endpoint, url } = await startTether({ heartbeatIntervalMs: 60_000 }, { clock });
    servers.push(tether);
    endpoint.onMessage(() => {});
    const sampler = new StatsSampler(tether, { clock, intervalMs: 1000, historyPoints: 3 });
    samplers.push(sampler);
    sampler.start();

    const a = await RawClient.connect(url);
    const b = await RawClient.connect(url);
    clients.push(a, b);
    for (let i = 0; i < 10; i += 1) a.sendJson({ t: 'msg', data: i });
    // Two app pongs give RTTs measured against the manual clock: 0 and 40 ms.
    a.sendJson({ t: 'pong', ts: clock.now(), rts: clock.now() });
    a.sendJson({ t: 'pong', ts: clock.now() - 40, rts: clock.now() });
    await waitFor(() => tether.stats().endpoints[0]?.messagesIn === 14, { message: 'messages in' });
    clock.advance(2000); // two samples: the first interval holds it all
    const first = sampler.report();
    expect(first.history).toHaveLength(2);
    expect(first.history[0]).toMatchObject({
      connections: 2,
      messagesIn: 14,
      rttP50: 0,
      rttP99: 40,
    });
    expect(first.history[1]).toMatchObject({ messagesIn: 0 });
    expect(first.rtt.window).toEqual({ p50: 0, p90: 40, p99: 40, max: 40, count: 2 });

    b.ws.close(4000, 'bye');
    await b.waitClosed();
    await waitFor(() => tether.stats().connections === 1, { message: 'close seen' });
    clock.advance(1000);
    const second = sampler.report();
    expect(second.history).toHaveLength(3);
    expect(second.history.at(-1)).toMatchObject({ connections: 1, closes: { '4000': 1 } });
    expect(second.closeCodes).toEqual([{ code: 4000, name: 'handshake_timeout', count: 1 }]);
    // An abnormal close is listed among the errors.
    expect(second.errors[0]).toMatchObject({ kind: 'close', code: 4000, ip: '127.0.0.1' });
    expect(second.errors[0]?.message).toContain('bye');

    clock.advance(1000);
    const third = sampler.report({ since: second.history.at(-1)?.t ?? 0 });
    expect(third.history).toHaveLength(1);
    expect(sampler.report().history).toHaveLength(3); // bounded by historyPoints
    expect(third.topIps).toEqual([{ ip: '127.0.0.1', connections: 1 }]);
    expect(third.connectionList).toHaveLength(1);
    expect(third.connectionList[0]).toMatchObject({
      path: '/ws',
      ip: '127.0.0.1',
      state: 'open',
      health: 'ok',
    });
  });

  it('marks a connection that stopped answering as stale before the heartbeat timeout closes it', async () => {
    const clock = new ManualClock();
    const { tether, url } = await startTether(
      { heartbeatIntervalMs: 10_000, heartbeatTimeoutMs: 4000 },
      { clock },
    );
    servers.push(tether);
    const sampler = new StatsSampler(tether, { clock });
    samplers.push(sampler);
    const quiet = await RawClient.connect(url);
    clients.push(quiet);
    quiet.ws.pause(); // reads nothing: no pong comes back
    clock.advance(13_000); // past interval + timeout / 2, before interval + timeout
    const report = sampler.report();
    expect(report.connectionList[0]).toMatchObject({
      health: 'stale',
      healthReason: 'silent for 13 s',
    });
  });
});

describe('operations HTTP handlers', () => {
  it('answers /healthz, /readyz (with checks), /stats and /metrics', async () => {
    const { tether } = await startTether();
    servers.push(tether);
    const sampler = new StatsSampler(tether);
    samplers.push(sampler);
    const metrics = new TetherMetrics(tether);
    let storeUp = true;
    const base = await opsServer({
      tether,
      sampler,
      metrics,
      readyTimeoutMs: 200,
      checks: [
        {
          name: 'store',
          check: () => {
            if (!storeUp) throw new Error('database is locked');
          },
        },
      ],
    });
    expect(await (await fetch(`${base}/healthz`)).json()).toEqual({
      status: 'ok',
      state: 'running',
    });
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', checks: { server: 'ok', store: 'ok' } });
    storeUp = false;
    const down = await fetch(`${base}/readyz`);
    expect(down.status).toBe(503);
    expect(await down.json()).toEqual({
      status: 'not ready',
      checks: { server: 'ok', store: 'failed: database is locked' },
    });
    const stats = await fetch(`${base}/stats?connections=5`);
    expect(stats.status).toBe(200);
    expect(await stats.json()).toMatchObject({ state: 'running', connections: { total: 0 } });
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(text).toContain('tether_connections{endpoint="/ws"} 0');
    expect(text).toContain('tether_http_requests_total{route="/readyz",status="503"} 1');
    const post = await fetch(`${base}/healthz`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    await post.arrayBuffer();
    expect(await statusOf(`${base}/other`)).toBe(404);
  });

  it('fails /readyz when a check hangs past its deadline, and while draining', async () => {
    const { tether } = await startTether();
    servers.push(tether);
    const base = await opsServer({
      tether,
      readyTimeoutMs: 50,
      checks: [{ name: 'store', check: () => new Promise<void>(() => {}) }],
    });
    expect(await (await fetch(`${base}/readyz`)).json()).toEqual({
      status: 'not ready',
      checks: { server: 'ok', store: 'timed out after 50 ms' },
    });
    // Without sampler and metrics, /stats and /metrics are not this handler's.
    expect(await statusOf(`${base}/stats`)).toBe(404);
  });

  it('protects /stats and /metrics with the operations key, never the health checks', async () => {
    const { tether } = await startTether();
    servers.push(tether);
    const sampler = new StatsSampler(tether);
    samplers.push(sampler);
    const base = await opsServer({
      tether,
      sampler,
      metrics: new TetherMetrics(tether),
      key: 'ops-key-0123456789',
    });
    expect(await statusOf(`${base}/healthz`)).toBe(200);
    expect(await statusOf(`${base}/readyz`)).toBe(200);
    const refused = await fetch(`${base}/stats`);
    expect(refused.status).toBe(401);
    expect(await refused.json()).toEqual({
      error: {
        code: 'UNAUTHORIZED',
        message: '/stats needs the operations key (Authorization: Bearer KEY or X-Api-Key)',
      },
    });
    expect(await statusOf(`${base}/metrics`, { headers: { 'X-Api-Key': 'wrong' } })).toBe(401);
    expect(
      await statusOf(`${base}/metrics`, {
        headers: { Authorization: 'Bearer ops-key-0123456789' },
      }),
    ).toBe(200);
  });
});
