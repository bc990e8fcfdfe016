import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ChromiumHandle,
  launchChromium,
  listenOnPort0,
  systemDepMissing,
} from '../src/index.js';

describe.skipIf(systemDepMissing('chromium'))('launchChromium', () => {
  let chromium: ChromiumHandle;
  let server: Server;
  let origin: string;

  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/data.json') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ ok: true }));
        return;
      }
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end('<!doctype html><title>Tether testkit</title><p id="p">served on loopback</p>');
    });
    const { port } = await listenOnPort0(server);
    origin = `http://127.0.0.1:${port}`;
    chromium = await launchChromium();
  });

  afterAll(async () => {
    await chromium?.close();
    await new Promise<void>((resolve) => server?.close(() => resolve()) ?? resolve());
  });

  it('opens a page served on 127.0.0.1 and reads its title', async () => {
    const page = await chromium.newPage();
    await page.goto(`${origin}/`);
    expect(await page.title()).toBe('Tether testkit');
    expect(await page.textContent('#p')).toBe('served on loopback');
    const data = await page.evaluate(async () => (await fetch('/data.json')).json());
    expect(data).toEqual({ ok: true });
    await page.close();
  });

  it('gives each page its own context, with its own offline switch', async () => {
    const online = await chromium.newPage();
    const offline = await chromium.newPage();
    expect(online.context()).not.toBe(offline.context());
    await online.goto(`${origin}/`);
    await offline.goto(`${origin}/`);
    await offline.context().setOffline(true);
    expect(await offline.evaluate(() => navigator.onLine)).toBe(false);
    expect(await online.evaluate(() => navigator.onLine)).toBe(true);
    await Promise.all([online.close(), offline.close()]);
  });
});
