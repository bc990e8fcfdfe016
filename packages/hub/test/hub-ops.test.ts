import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parsePrometheus, sampleValue } from '../../server/test/prometheus-text.js';
import {
  API_KEY,
  call,
  cleanUpAfterEach,
  OPS_KEY,
  rawClient,
  startTestHub,
} from './hub-helpers.js';

cleanUpAfterEach();

describe('the hub’s operations endpoints', () => {
  it('serves Prometheus text whose counters move as messages flow through /ws and the API', async () => {
    const { hub } = await startTestHub();
    const scrape = async () => {
      const res = await fetch(`${hub.url}/metrics`, {
        headers: { Authorization: `Bearer ${OPS_KEY}` },
      });
      expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      return parsePrometheus(await res.text());
    };
    const before = await scrape();
    const ep = { endpoint: '/ws' };
    expect(sampleValue(before, 'tether_messages_out_total', ep)).toBe(0);

    const client = rawClient(hub);
    await client.frame((f) => f.t === 'welcome', 'welcome');
    client.send({ t: 'sub', topic: 'demo:ops' });
    await client.frame((f) => f.t === 'subscribed', 'subscribed');
    for (let i = 0; i < 5; i += 1) {
      expect(
        (
          await call(hub, 'POST', '/api/publish', {
            key: API_KEY,
            body: { topic: 'demo:ops', data: i },
          })
        ).status,
      ).toBe(200);
    }
    await client.frame((f) => f.t === 'pub' && f.offset === 5, 'the 5th publication');
    const after = await scrape();
    expect(sampleValue(after, 'tether_connections', ep)).toBe(1);
    expect(sampleValue(after, 'tether_publications_total')).toBe(5);
    expect(sampleValue(after, 'tether_messages_in_total', ep)).toBeGreaterThanOrEqual(2);
    expect(sampleValue(after, 'tether_messages_out_total', ep)).toBeGreaterThanOrEqual(7);
    expect(
      sampleValue(after, 'tether_http_requests_total', { route: '/api/publish', status: '200' }),
    ).toBe(5);
    expect(
      sampleValue(after, 'tether_store_operation_duration_seconds_count', {
        operation: 'appendPublication',
      }),
    ).toBe(5);

    // /stats sees the same connection.
    const stats = await call(hub, 'GET', '/stats', { key: OPS_KEY });
    expect(stats.body).toMatchObject({
      state: 'running',
      connections: { total: 1 },
      topics: { publications: 5 },
    });
  });
});

describe('the hub with the SQLite store', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tether-hub-sqlite-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('creates the directory, and keeps topic history across a restart', async () => {
    const store = `sqlite:${join(dir, 'nested', 'hub.db')}` as const;
    const first = (await startTestHub({ store })).hub;
    expect(existsSync(join(dir, 'nested', 'hub.db'))).toBe(true);
    expect((await call(first, 'GET', '/readyz')).body).toEqual({
      status: 'ready',
      checks: { server: 'ok', store: 'ok' },
    });
    for (const text of ['one', 'two']) {
      const r = await call(first, 'POST', '/api/publish', {
        key: API_KEY,
        body: { topic: 'demo:log', data: text },
      });
      expect(r.status).toBe(200);
    }
    await first.close();
    const second = (await startTestHub({ store })).hub;
    const history = await call(second, 'GET', '/api/topics/demo:log/history', { key: API_KEY });
    expect(history.body).toMatchObject({ offset: 2 });
    expect((history.body.publications as Array<{ data: unknown }>).map((p) => p.data)).toEqual([
      'one',
      'two',
    ]);
  });
});
