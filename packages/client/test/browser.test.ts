/**
 * The browser bundle in real Chromium against the real server: connect,
 * exchange messages, and recover after the server dies and comes back on the
 * same port, after the browser goes offline and online again, and on another node when
 * the one it is on dies (failover between URLs).
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { MemoryStore } from '@tether/server';
import {
  type ChromiumHandle,
  launchChromium,
  listenOnPort0,
  systemDepMissing,
  type TempDir,
  tempDir,
} from '@tether/testkit';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleBrowserClient } from './helpers/bundle.js';
import { HOST, type RunningServer, startServer } from './helpers/real-server.js';

const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>tether client test</title>
<script type="module">
  import * as Tether from '/tether-client.js';
  window.Tether = Tether;
  window.log = [];
  window.start = (url) => { // one URL or several
    const client = new Tether.TetherClient(url, { minReconnectDelayMs: 100, maxReconnectDelayMs: 400 });
    for (const type of ['state', 'open', 'close', 'message', 'error', 'retry']) {
      client.addEventListener(type, (event) => {
        const entry = { type };
        if (type === 'state') Object.assign(entry, { from: event.from, to: event.to, reason: event.reason });
        if (type === 'close') Object.assign(entry, { code: event.code, willReconnect: event.willReconnect });
        if (type === 'message') entry.data = event.data;
        if (type === 'error') entry.code = event.error.code;
        window.log.push(entry);
      });
    }
    window.client = client;
  };
  window.ready = true;
</script>`;

interface PageLog {
  type: string;
  to?: string;
  reason?: string;
  code?: number | string;
  data?: unknown;
}

declare global {
  interface Window {
    ready: boolean;
    log: PageLog[];
    start(url: string | string[]): void;
    client: import('../src/index.js').TetherClient;
  }
}

describe.skipIf(systemDepMissing('chromium'))('in Chromium', () => {
  let chromium: ChromiumHandle;
  let dir: TempDir;
  let web: Server;
  let webPort: number;

  beforeAll(async () => {
    dir = await tempDir('tether-client-browser-');
    const bundlePath = `${dir.path}/tether-client.js`;
    await bundleBrowserClient(bundlePath);
    const bundle = readFileSync(bundlePath);
    web = createServer((req, res) => {
      if (req.url === '/tether-client.js') {
        res.writeHead(200, { 'Content-Type': 'text/javascript' });
        res.end(bundle);
      } else if (req.url === '/') {
        res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
        res.end(PAGE);
      } else {
        res.writeHead(404).end();
      }
    });
    webPort = (await listenOnPort0(web, HOST)).port;
    chromium = await launchChromium();
  });

  afterAll(async () => {
    await chromium?.close();
    await new Promise((resolve) => web?.close(resolve));
    await dir?.cleanup();
  });

  async function openPage(): Promise<Page> {
    const page = await chromium.newPage();
    await page.goto(`http://${HOST}:${webPort}/`);
    await page.waitForFunction(() => window.ready === true);
    return page;
  }

  const waitForState = (page: Page, state: string, timeout = 10_000) =>
    page.waitForFunction((s) => window.client.state === s, state, { timeout });

  async function exchange(page: Page, server: RunningServer, label: string): Promise<void> {
    const received = new Promise<unknown>((resolve) => {
      const dispose = server.endpoint.on('message', ({ data }) => {
        dispose();
        resolve(data);
      });
    });
    await expect(
      page.evaluate((l) => window.client.request('echo', { l }), label),
    ).resolves.toEqual({ l: label });
    await page.evaluate((l) => window.client.send({ sent: l }), label);
    expect(await received).toEqual({ sent: label });
    for (const conn of server.endpoint.connections.values()) conn.send({ pushed: label });
    await page.waitForFunction(
      (l) =>
        window.log.some(
          (e) => e.type === 'message' && (e.data as { pushed?: string })?.pushed === l,
        ),
      label,
      { timeout: 5000 },
    );
  }

  it('connects with the bundle, exchanges messages, and recovers after a server restart on the same port', async () => {
    let server = await startServer();
    const page = await openPage();
    try {
      await page.evaluate((url) => window.start(url), server.url);
      await waitForState(page, 'open');
      await exchange(page, server, 'first');

      await server.kill(); // the browser sees 1006
      await page.waitForFunction(() =>
        window.log.some((e) => e.type === 'close' && e.code === 1006),
      );
      expect(await page.evaluate(() => window.client.state)).not.toBe('open');
      server = await startServer({}, server.port);
      await waitForState(page, 'open');
      await exchange(page, server, 'after restart');
      const stats = await page.evaluate(() => window.client.stats());
      expect(stats.connects).toBe(2);
      expect(stats.dropsByCode[1006]).toBe(1);
    } finally {
      await page.evaluate(() => window.client?.close());
      await page.close();
      await server.tether.close({ drainTimeoutMs: 1000 });
    }
  });

  it('waits for the network while offline and reconnects as soon as it is back', async () => {
    let server = await startServer();
    const page = await openPage();
    try {
      await page.evaluate((url) => window.start(url), server.url);
      await waitForState(page, 'open');
      await page.context().setOffline(true);
      expect(await page.evaluate(() => navigator.onLine)).toBe(false);
      await server.kill();
      server = await startServer({}, server.port);
      // Offline: the client parks in 'reconnecting' without a timer (reason 'offline').
      await page.waitForFunction(() =>
        window.log.some(
          (e) => e.type === 'state' && e.to === 'reconnecting' && e.reason === 'offline',
        ),
      );
      const attemptsOffline = await page.evaluate(() => window.client.stats().attempts);
      await page.context().setOffline(false);
      await waitForState(page, 'open');
      // The 'online' event made exactly one attempt, at once.
      expect(await page.evaluate(() => window.client.stats().attempts)).toBe(attemptsOffline + 1);
      await exchange(page, server, 'back online');
    } finally {
      await page.evaluate(() => window.client?.close());
      await page.close();
      await server.tether.close({ drainTimeoutMs: 1000 });
    }
  });

  it('fails over to the next URL when its node dies, and resumes the session there', async () => {
    const store = new MemoryStore();
    const n1 = await startServer({}, 0, { store });
    const n2 = await startServer({}, 0, { store });
    const page = await openPage();
    try {
      await page.evaluate((urls) => window.start(urls), [n1.url, n2.url]);
      await waitForState(page, 'open');
      await exchange(page, n1, 'on the first node');
      const sid = await page.evaluate(() => window.client.sessionId);
      await n1.kill();
      await page.waitForFunction(
        (url) => window.client.state === 'open' && window.client.url === url,
        n2.url,
        {
          timeout: 10_000,
        },
      );
      await exchange(page, n2, 'on the second node');
      expect(await page.evaluate(() => window.client.sessionId)).toBe(sid);
      const retries = await page.evaluate(
        () => window.log.filter((e) => e.type === 'retry').length,
      );
      expect(retries).toBe(1);
    } finally {
      await page.evaluate(() => window.client?.close());
      await page.close();
      await n1.tether.close({ drainTimeoutMs: 0 });
      await n2.tether.close({ drainTimeoutMs: 1000 });
      await store.close();
    }
  });
});
