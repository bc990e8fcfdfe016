import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { TetherClient } from '@tether/client';
import { type ChromiumHandle, launchChromium, systemDepMissing, waitFor } from '@tether/testkit';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { clientBundlePath } from '../src/hub-pages.js';
import type { ServeHandle } from '../src/index.js';
import { closeHubs, OPS_KEY, startTestHub } from './hub-helpers.js';

/**
 * The hub's pages in a real browser (Debian's Chromium): the dashboard follows 50 live
 * clients, and two tabs of the demo page chat through a topic.
 */

const ARTIFACTS = fileURLToPath(new URL('../../../test-artifacts/', import.meta.url));
const CLIENTS = 50;

describe.skipIf(systemDepMissing('chromium'))('the hub in a browser', () => {
  let chromium: ChromiumHandle;
  let hub: ServeHandle;
  const clients: TetherClient[] = [];

  beforeAll(async () => {
    ({ hub } = await startTestHub({ heartbeat: { intervalMs: 1000, timeoutMs: 2000 } }));
    chromium = await launchChromium();
  });

  afterAll(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await chromium?.close();
    await closeHubs();
  });

  it('shows the connection count of 50 clients and charts that move, while they talk', async () => {
    // The hub has keys, so the dashboard needs the ops key: the browser's login prompt
    // (HTTP Basic, the key as the password) opens the page, and the page's polls of
    // /stats carry the same credentials.
    const page = await chromium.newPage({
      viewport: { width: 1400, height: 1000 },
      httpCredentials: { username: 'ops', password: OPS_KEY },
    });
    const problems: string[] = [];
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('console', (msg) => {
      if (msg.type() === 'error') problems.push(`console: ${msg.text()}`);
    });
    await page.goto(`${hub.url}/dashboard`);
    await page.waitForSelector('#state.running', { timeout: 10_000 });

    for (let i = 0; i < CLIENTS; i += 1) {
      clients.push(
        new TetherClient(`${hub.url.replace('http', 'ws')}/ws`, {
          WebSocket: WebSocket as never,
          clientName: `load-${i}`,
        }),
      );
    }
    await Promise.all(clients.map((c) => c.connect()));
    // Traffic: every client sends a few reliable messages and the server publishes.
    hub.endpoint.onMessage(() => {});
    const traffic = setInterval(() => {
      for (const c of clients.slice(0, 10)) void c.send({ tick: Date.now() }).catch(() => {});
      void hub.tether.publish('demo:ticks', { at: Date.now() }).catch(() => {});
    }, 100);
    try {
      await page.waitForFunction(
        (n) => document.getElementById('connections')?.textContent === String(n),
        CLIENTS,
        { timeout: 15_000 },
      );
      const chart = page.locator('#chart-connections');
      const before = Number(await chart.getAttribute('data-last'));
      await waitFor(async () => Number(await chart.getAttribute('data-last')) > before, {
        timeoutMs: 10_000,
        message: 'the connections chart got a new point',
      });
      // The charts carry the 50 connections and a message rate above zero.
      await waitFor(async () => Number(await page.locator('#rate-in').textContent()) > 0, {
        timeoutMs: 10_000,
        message: 'a message rate above 0',
      });
      await page.waitForFunction(
        () => document.querySelectorAll('#connection-table tbody tr').length === 50,
        null,
        { timeout: 10_000 },
      );
      await waitFor(async () => (await page.locator('#rtt').textContent()) !== '–', {
        timeoutMs: 10_000,
        message: 'RTT percentiles shown',
      });
      expect(
        Number(await page.locator('#chart-rates').getAttribute('data-points')),
      ).toBeGreaterThan(1);
    } finally {
      clearInterval(traffic);
    }

    // Some closes, so the close-code chart and the errors list have something to show.
    await Promise.all(clients.splice(0, 5).map((c) => c.close()));
    await page.waitForFunction(
      (n) => document.getElementById('connections')?.textContent === String(n),
      CLIENTS - 5,
      { timeout: 15_000 },
    );
    await page.waitForFunction(
      () => document.querySelectorAll('#close-codes tbody tr').length > 0,
      null,
      { timeout: 10_000 },
    );
    await page.waitForFunction(
      () =>
        (document.getElementById('chart-closes') as HTMLElement).dataset.series
          ?.split(',')
          .includes('1000'),
      null,
      { timeout: 10_000 },
    );
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: `${ARTIFACTS}dashboard.png`, fullPage: true });
    expect(problems).toEqual([]);
    await page.close();
  });

  it.skipIf(clientBundlePath() === undefined)('lets two tabs of the demo page chat', async () => {
    const alice = await chromium.newPage();
    const bob = await chromium.newPage();
    const problems: string[] = [];
    for (const page of [alice, bob]) page.on('pageerror', (err) => problems.push(err.message));
    await alice.goto(`${hub.url}/`);
    await bob.goto(`${hub.url}/`);
    await opened(alice);
    await opened(bob);
    await alice.fill('#name', 'alice');
    await alice.fill('#text', 'hello from alice');
    await alice.click('button[type=submit]');
    await bob.waitForFunction(
      () => document.getElementById('log')?.textContent?.includes('hello from alice'),
      null,
      { timeout: 10_000 },
    );
    await bob.fill('#name', 'bob');
    await bob.fill('#text', 'hi alice');
    await bob.press('#text', 'Enter');
    await alice.waitForFunction(
      () => document.getElementById('log')?.textContent?.includes('hi alice'),
      null,
      { timeout: 10_000 },
    );
    // A third tab joining later sees the history (last 20).
    const carol = await chromium.newPage();
    await carol.goto(`${hub.url}/`);
    await carol.waitForFunction(
      () => document.getElementById('log')?.textContent?.includes('hi alice'),
      null,
      { timeout: 10_000 },
    );
    mkdirSync(ARTIFACTS, { recursive: true });
    await alice.screenshot({ path: `${ARTIFACTS}demo-chat.png` });
    expect(problems).toEqual([]);
    await Promise.all([alice.close(), bob.close(), carol.close()]);
  });
});

async function opened(page: Page): Promise<void> {
  await page.waitForSelector('#state.open', { timeout: 10_000 });
}
