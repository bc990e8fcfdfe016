/**
 * The dashboard's backend tile in a real browser (Debian's Chromium): hidden without a
 * backend, and `degraded` with the latest error while the backend fails.
 */
import type { TetherClient as Client } from '@tether/client';
import { TetherClient } from '@tether/client';
import { type ChromiumHandle, launchChromium, systemDepMissing, waitFor } from '@tether/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startBackend, type TestBackend } from './backend-helpers.js';
import { closeHubs, HOST, OPS_KEY, startTestHub } from './hub-helpers.js';

describe.skipIf(systemDepMissing('chromium'))('the backend on the dashboard', () => {
  let chromium: ChromiumHandle;
  let backend: TestBackend;
  let client: Client | undefined;

  beforeAll(async () => {
    chromium = await launchChromium();
    backend = await startBackend();
  });

  afterAll(async () => {
    await client?.close();
    await chromium?.close();
    await closeHubs();
    await backend?.close();
  });

  it('shows the backend degraded, with its error, while it answers 503; no tile without one', async () => {
    backend.route = () => ({ status: 503, body: { error: 'maintenance' } });
    const { hub } = await startTestHub({
      backend: { url: backend.url, retry: { minDelayMs: 50, maxDelayMs: 200 } },
    });
    const page = await chromium.newPage({
      httpCredentials: { username: 'ops', password: OPS_KEY },
    });
    await page.goto(`${hub.url}/dashboard`);
    await page.waitForSelector('#state.running', { timeout: 10_000 });
    client = new TetherClient(`ws://${HOST}:${hub.port}/ws`, { WebSocket });
    await client.connect();
    void client.send({ n: 1 }).catch(() => {});
    await waitFor(async () => (await page.textContent('#backend')) === 'degraded' || undefined, {
      timeoutMs: 15_000,
      message: 'the backend tile says degraded',
    });
    expect(await page.isVisible('#backend-tile')).toBe(true);
    expect(await page.textContent('#backend-sub')).toMatch(/1 waiting .* retries .*HTTP 503/);

    const { hub: plain } = await startTestHub({});
    await page.goto(`${plain.url}/dashboard`);
    await page.waitForSelector('#state.running', { timeout: 10_000 });
    expect(await page.isVisible('#backend-tile')).toBe(false);
    await page.close();
  });
});
