import { waitFor } from '@tether/testkit';
import { register as globalRegistry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createStore, type TetherServer } from '../src/index.js';
import { instrumentStore, OPS_DEFAULTS, TetherMetrics, UNMATCHED_ROUTE } from '../src/ops/index.js';
import { RawClient, startTether } from './helpers.js';
import { parsePrometheus, sampleValue } from './prometheus-text.js';

const servers: TetherServer[] = [];
const clients: RawClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await Promise.all(servers.splice(0).map((s) => s.close({ drainTimeoutMs: 200 })));
});

async function scrape(metrics: TetherMetrics) {
  const text = await metrics.metrics();
  return parsePrometheus(text);
}

describe('TetherMetrics', () => {
  it('exposes valid Prometheus text whose counters move as messages flow', async () => {
    let metrics: TetherMetrics | undefined;
    const store = instrumentStore(createStore('memory'), (op, s, ok) =>
      metrics?.observeStore(op, s, ok),
    );
    const { tether, endpoint, url } = await startTether(
      {
        heartbeatIntervalMs: 50,
        authorizePublish: () => true,
        rateLimit: { perSecond: 1, burst: 5 },
      },
      { store },
    );
    servers.push(tether);
    metrics = new TetherMetrics(tether);
    endpoint.onMessage(() => {});
    const ep = { endpoint: '/ws' };

    const before = await scrape(metrics);
    expect(before.types.get('tether_connections')).toBe('gauge');
    expect(before.types.get('tether_messages_in_total')).toBe('counter');
    expect(before.types.get('tether_heartbeat_rtt_seconds')).toBe('histogram');
    expect(sampleValue(before, 'tether_connections', ep)).toBe(0);
    expect(sampleValue(before, 'tether_messages_in_total', ep)).toBe(0);

    const a = await RawClient.connect(url);
    const b = await RawClient.connect(url);
    clients.push(a, b);
    b.sendJson({ t: 'sub', topic: 'news' });
    await b.next((f) => f.t === 'subscribed');
    for (let i = 1; i <= 3; i += 1) a.sendJson({ t: 'msg', data: i });
    a.sendJson({ t: 'publish', topic: 'news', data: 'x', id: 1 });
    await a.next((f) => f.t === 'published');
    await b.next((f) => f.t === 'pub');

    const during = await waitFor(
      async () => {
        const m = await scrape(metrics as TetherMetrics);
        return sampleValue(m, 'tether_heartbeat_rtt_seconds_count', ep) >= 2 && m;
      },
      { message: 'RTT observations' },
    );
    expect(sampleValue(during, 'tether_connections', ep)).toBe(2);
    expect(sampleValue(during, 'tether_connects_total', ep)).toBe(2);
    // 2 hellos + sub + 3 msgs + publish, at least.
    expect(sampleValue(during, 'tether_messages_in_total', ep)).toBeGreaterThanOrEqual(7);
    expect(sampleValue(during, 'tether_messages_out_total', ep)).toBeGreaterThanOrEqual(4);
    expect(sampleValue(during, 'tether_bytes_in_total', ep)).toBeGreaterThan(0);
    expect(sampleValue(during, 'tether_bytes_out_total', ep)).toBeGreaterThan(0);
    expect(sampleValue(during, 'tether_publications_total')).toBe(1);
    expect(sampleValue(during, 'tether_subscriptions')).toBe(1);
    expect(sampleValue(during, 'tether_sessions', ep)).toBe(2);
    expect(sampleValue(during, 'tether_heartbeat_rtt_seconds_bucket', { ...ep, le: '+Inf' })).toBe(
      sampleValue(during, 'tether_heartbeat_rtt_seconds_count', ep),
    );
    expect(
      sampleValue(during, 'tether_store_operation_duration_seconds_count', {
        operation: 'createSession',
      }),
    ).toBe(2);
    expect(
      sampleValue(during, 'tether_store_operation_duration_seconds_count', {
        operation: 'appendPublication',
      }),
    ).toBe(1);

    // Rate-limit rejections: a burst past the bucket.
    for (let i = 0; i < 20; i += 1) a.sendJson({ t: 'ping', ts: i });
    await a.next((f) => f.t === 'error' && f.code === 'RATE_LIMITED');
    // A close by code.
    b.ws.close(1000);
    await b.waitClosed();
    const after = await waitFor(
      async () => {
        const m = await scrape(metrics as TetherMetrics);
        return sampleValue(m, 'tether_disconnects_total', { ...ep, code: '1000' }) === 1 && m;
      },
      { message: 'disconnect counted' },
    );
    expect(sampleValue(after, 'tether_rate_limited_total', ep)).toBeGreaterThan(0);
    expect(sampleValue(after, 'tether_connections', ep)).toBe(1);
    expect(sampleValue(after, 'tether_messages_in_total', ep)).toBeGreaterThan(
      sampleValue(during, 'tether_messages_in_total', ep),
    );
  });

  it('uses a registry per server, never the global one', async () => {
    const one = await startTether();
    const two = await startTether();
    servers.push(one.tether, two.tether);
    const m1 = new TetherMetrics(one.tether);
    const m2 = new TetherMetrics(two.tether);
    expect(m1.registry).not.toBe(m2.registry);
    expect(m1.registry).not.toBe(globalRegistry);
    clients.push(await RawClient.connect(one.url));
    expect(sampleValue(await scrape(m1), 'tether_connections')).toBe(1);
    expect(sampleValue(await scrape(m2), 'tether_connections')).toBe(0);
    expect((await globalRegistry.metrics()).includes('tether_')).toBe(false);
    expect(m1.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
  });

  it('exports process and Node.js metrics under the standard names, per server, with no gauge named _total', async () => {
    const one = await startTether();
    const two = await startTether();
    servers.push(one.tether, two.tether);
    const m1 = new TetherMetrics(one.tether, { processMetrics: true });
    const m2 = new TetherMetrics(two.tether, { processMetrics: true });
    const standard = {
      process_cpu_seconds_total: 'counter',
      process_resident_memory_bytes: 'gauge',
      process_open_fds: 'gauge',
      process_start_time_seconds: 'gauge',
      nodejs_heap_size_used_bytes: 'gauge',
      nodejs_eventloop_lag_seconds: 'gauge',
      nodejs_eventloop_lag_p99_seconds: 'gauge',
      nodejs_gc_duration_seconds: 'histogram',
      nodejs_active_handles: 'gauge',
    };
    // Two servers in one process: each registry holds its own copy, nothing collides.
    for (const metrics of [m1, m2]) {
      const m = await scrape(metrics);
      for (const [name, type] of Object.entries(standard))
        expect(m.types.get(name), name).toBe(type);
      expect(sampleValue(m, 'process_resident_memory_bytes')).toBeGreaterThan(0);
      expect(sampleValue(m, 'nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
      const names = [...m.types.keys()];
      expect(names.filter((n) => /^tether_(process|nodejs)_/.test(n))).toEqual([]);
      // promtool check metrics: "non-counter metrics should not have _total suffix".
      expect(names.filter((n) => n.endsWith('_total') && m.types.get(n) !== 'counter')).toEqual([]);
    }
    expect((await globalRegistry.metrics()).includes('process_resident_memory_bytes')).toBe(false);
    // Off by default: a library does not start the event-loop monitor unasked.
    const plain = await scrape(new TetherMetrics(one.tether));
    expect(plain.types.has('process_resident_memory_bytes')).toBe(false);
  });

  it('counts resumes by outcome and reason', async () => {
    const { tether, url } = await startTether();
    servers.push(tether);
    const metrics = new TetherMetrics(tether);
    const first = await RawClient.connect(url);
    clients.push(first);
    const welcome = first.frames.find((f) => f.t === 'welcome') as unknown as {
      sid: string;
      token: string;
    };
    first.ws.close(1000);
    await first.waitClosed();
    const again = await RawClient.open(url);
    clients.push(again);
    again.sendJson({
      t: 'hello',
      v: 1,
      resume: { sid: welcome.sid, token: welcome.token, seq: 0 },
    });
    expect(await again.next((f) => f.t === 'welcome')).toMatchObject({ resumed: true });
    const bad = await RawClient.open(url);
    clients.push(bad);
    bad.sendJson({ t: 'hello', v: 1, resume: { sid: welcome.sid, token: 'wrong', seq: 0 } });
    expect(await bad.next((f) => f.t === 'welcome')).toMatchObject({ resumed: false });
    const m = await scrape(metrics);
    expect(sampleValue(m, 'tether_resumes_total', { outcome: 'ok' })).toBe(1);
    expect(sampleValue(m, 'tether_resumes_total', { outcome: 'failed' })).toBe(1);
  });

  it('keeps the route and status labels of HTTP requests to a bounded set', async () => {
    const { tether } = await startTether();
    servers.push(tether);
    const metrics = new TetherMetrics(tether);
    metrics.countHttpRequest('/api/publish', 200);
    // A caller that passes URLs instead of route patterns, and statuses no HTTP knows.
    for (let i = 0; i < 1_000; i += 1) metrics.countHttpRequest(`/api/random-${i}`, 1_000 + i);
    const m = await scrape(metrics);
    const series = m.samples.filter((s) => s.name === 'tether_http_requests_total');
    expect(series.length).toBeLessThanOrEqual(OPS_DEFAULTS.httpRouteLabels + 2);
    expect(new Set(series.map((s) => s.labels.status))).toEqual(new Set(['200', 'other']));
    expect(sampleValue(m, 'tether_http_requests_total', { route: '/api/publish' })).toBe(1);
    expect(sampleValue(m, 'tether_http_requests_total', { route: UNMATCHED_ROUTE })).toBe(
      1_000 - (OPS_DEFAULTS.httpRouteLabels - 1),
    );
  });

  it('labels close codes outside the close-code table, which clients choose, as one value', async () => {
    const { tether, url } = await startTether();
    servers.push(tether);
    const metrics = new TetherMetrics(tether);
    for (let code = 3000; code < 3020; code += 1) {
      const client = await RawClient.connect(url);
      clients.push(client);
      client.ws.close(code);
      await client.waitClosed();
    }
    const m = await waitFor(
      async () => {
        const scraped = await scrape(metrics);
        return (
          sampleValue(scraped, 'tether_disconnects_total', { code: 'other' }) === 20 && scraped
        );
      },
      { message: '20 closes counted' },
    );
    const codes = m.samples
      .filter((s) => s.name === 'tether_disconnects_total')
      .map((s) => s.labels.code);
    expect(codes).toEqual(['other']);
  });
});
