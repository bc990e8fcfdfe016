/**
 * examples/test-dashboard runs as its README says: an Express app whose own routes still
 * answer, with two Tether endpoints on the same port. After 15 posted events a client that
 * connects gets exactly the last 10, then the live ones; /ws/logs carries the log lines;
 * each endpoint serves its own topic only; the page shows the events in Chromium.
 */
import { type PubEvent, TetherClient } from '@tether/client';
import { launchChromium, systemDepMissing, waitFor } from '@tether/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { type ExampleProcess, startExample } from './example-process.js';

describe('examples/test-dashboard', () => {
  let app: ExampleProcess;
  let base: string;
  const clients: TetherClient[] = [];

  beforeAll(async () => {
    app = await startExample(
      'examples/test-dashboard/server.mjs',
      [],
      /test dashboard: (http:\/\/127\.0\.0\.1:\d+)\//,
      { PORT: '0' },
    );
    base = app.ready[1] ?? '';
  });

  afterEach(async () => {
    for (const client of clients.splice(0)) await client.close();
  });

  afterAll(async () => {
    expect(await app?.stop()).toBe(0); // a graceful exit on SIGTERM
  });

  // Reads every answer to its end (an unread body stays a pending stream until the file ends).
  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, json: async (): Promise<unknown> => JSON.parse(text) };
  };
  const connect = (path: string) => {
    const client = new TetherClient(`${base.replace('http', 'ws')}${path}`, { WebSocket });
    clients.push(client);
    return client;
  };
  const tests = (pubs: PubEvent[]) => pubs.map((p) => (p.data as { test: string }).test);

  it('a late client gets exactly the last 10 events, then live ones; Express still answers', async () => {
    for (let i = 1; i <= 15; i++) {
      const res = await post('/runs/r1/event', { test: `t${i}`, status: 'passed' });
      expect(res.status).toBe(201);
      expect(((await res.json()) as { offset: number }).offset).toBe(i);
    }

    const pubs: PubEvent[] = [];
    connect('/ws/runs')
      .subscribe('runs', { last: 10 })
      .on('pub', (p) => pubs.push(p));
    await waitFor(() => pubs.length >= 10, { message: 'the last 10 events' });
    await post('/runs/r1/event', { test: 't16', status: 'failed', message: 'expected 2, got 3' });
    await post('/runs/r1/event', { test: 't17', status: 'passed' });
    await waitFor(() => pubs.length >= 12, { message: 'two live events' });
    // A sentinel after them: a duplicate or a stray replay would arrive before it.
    await post('/runs/r1/event', { test: 'end', status: 'finished' });
    await waitFor(() => pubs.length >= 13, { message: 'the sentinel' });

    expect(tests(pubs)).toEqual([
      ...Array.from({ length: 10 }, (_, i) => `t${i + 6}`),
      't16',
      't17',
      'end',
    ]);
    expect(pubs.map((p) => p.replayed)).toEqual([...Array(10).fill(true), ...Array(3).fill(false)]);
    expect(pubs[10]?.data).toMatchObject({
      run: 'r1',
      status: 'failed',
      message: 'expected 2, got 3',
    });

    // Express's own routes on the same port.
    expect(await (await fetch(`${base}/health`)).json()).toEqual({ ok: true });
    expect(await (await fetch(`${base}/runs`)).json()).toEqual({
      r1: { events: 18, passed: 16, failed: 1, finished: 1 },
    });
    const bad = await post('/runs/r1/event', { test: 't19', status: 'maybe' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toContain('status');
  });

  it('/ws/logs carries the log lines; each endpoint serves its own topic only', async () => {
    await post('/runs/r2/log', { line: 'before' });
    const logs: PubEvent[] = [];
    const logClient = connect('/ws/logs');
    const logSub = logClient.subscribe('logs', { last: 10 });
    logSub.on('pub', (p) => logs.push(p));
    await waitFor(() => logs.length >= 1, { message: 'the earlier log line' });
    expect((await post('/runs/r2/log', { line: 'after' })).status).toBe(201);
    await waitFor(() => logs.length >= 2, { message: 'the live log line' });
    expect(logs.map((p) => p.data)).toEqual([
      { run: 'r2', line: 'before' },
      { run: 'r2', line: 'after' },
    ]);

    const refused = new Promise<string>((resolve) => {
      const sub = connect('/ws/runs').subscribe('logs');
      sub.on('error', ({ error }) => resolve(`${error.code}: ${error.message}`));
      sub.on('subscribed', () => resolve('subscribed'));
    });
    expect(await refused).toMatch(/^FORBIDDEN: .*\/ws\/runs serves the topic runs/);
  });

  it.skipIf(systemDepMissing('chromium'))(
    'the page shows the last 10 events, then live ones',
    async () => {
      const chromium = await launchChromium();
      try {
        const page = await chromium.newPage();
        await page.goto(`${base}/`);
        const items = page.locator('#runs li');
        await page.waitForFunction(
          () => document.querySelectorAll('#runs li').length === 10,
          null,
          {
            timeout: 10_000,
          },
        );
        await post('/runs/r3/event', { test: 'live', status: 'passed' });
        await page.waitForFunction(
          () => document.querySelectorAll('#runs li').length === 11,
          null,
          {
            timeout: 10_000,
          },
        );
        expect(await items.first().textContent()).toBe('r3 live: passed');
        expect(await page.locator('#runs-state').textContent()).toBe('open');
      } finally {
        await chromium.close();
      }
    },
  );
});
