import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, get, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  createDashboardHandler,
  DASHBOARD_PUBLIC_DIR,
  type DashboardOptions,
} from '../src/index.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function serveDashboard(options: DashboardOptions = {}): Promise<string> {
  const handler = createDashboardHandler(options);
  const server = createServer((req, res) => {
    if (!handler(req, res)) {
      res.writeHead(418);
      res.end('not the dashboard');
    }
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function rawStatus(url: string): Promise<number> {
  const { hostname, port } = new URL(url);
  const path = url.slice(url.indexOf('/', 'http://'.length));
  return new Promise((resolve, reject) => {
    get({ hostname, port, path }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    }).on('error', reject);
  });
}

describe('dashboard handler', () => {
  it('serves the page with its settings filled in, at the base path with and without a slash', async () => {
    const base = await serveDashboard({
      basePath: '/ops/dash',
      statsUrl: '/ops/stats',
      pollMs: 2000,
      title: 'Hub <prod>',
    });
    for (const path of ['/ops/dash', '/ops/dash/', '/ops/dash/index.html']) {
      const res = await fetch(`${base}${path}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
      const html = await res.text();
      expect(html).toContain('data-stats-url="/ops/stats"');
      expect(html).toContain('data-poll-ms="2000"');
      expect(html).toContain('<script type="module" src="/ops/dash/dashboard.js">');
      expect(html).toContain('<title>Hub &#60;prod&#62;</title>');
      expect(html).not.toContain('{{');
    }
    const js = await fetch(`${base}/ops/dash/dashboard.js`);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(await js.text()).toContain('poll');
    const css = await fetch(`${base}/ops/dash/dashboard.css`);
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
    expect(await css.text()).not.toBe('');
    for (const path of ['/elsewhere', '/ops/dashboards']) {
      const other = await fetch(`${base}${path}`);
      expect(other.status, path).toBe(418);
      expect(await other.text(), path).toBe('not the dashboard');
    }
  });

  it('never serves files outside its folder, and answers only GET and HEAD', async () => {
    const base = await serveDashboard();
    for (const path of [
      '/dashboard/../package.json',
      '/dashboard/%2e%2e/package.json',
      '/dashboard/..%2fsrc%2findex.ts',
      '/dashboard/nope.js',
      '/dashboard/%ff',
    ]) {
      // node:http sends the path as written (fetch would normalize the dots away).
      expect(await rawStatus(`${base}${path}`), path).toBe(404);
    }
    const post = await fetch(`${base}/dashboard/`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    await post.arrayBuffer();
    const head = await fetch(`${base}/dashboard/charts.js`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(Number(head.headers.get('content-length'))).toBeGreaterThan(100);
  });

  it('serves uPlot from the files given, or found in node_modules (a dependency)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tether-uplot-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'uPlot.esm.js'), 'export default class uPlot {}');
    writeFileSync(join(dir, 'uPlot.min.css'), '.uplot{}');
    const withUplot = await serveDashboard({
      uplot: { js: join(dir, 'uPlot.esm.js'), css: join(dir, 'uPlot.min.css') },
    });
    const page = await (await fetch(`${withUplot}/dashboard`)).text();
    expect(page).toContain('data-uplot="1"');
    expect(page).toContain('<link rel="stylesheet" href="/dashboard/vendor/uPlot.min.css">');
    expect(await (await fetch(`${withUplot}/dashboard/vendor/uPlot.esm.js`)).text()).toBe(
      'export default class uPlot {}',
    );

    const found = await serveDashboard({});
    expect(await (await fetch(`${found}/dashboard`)).text()).toContain('data-uplot="1"');
    const vendored = await fetch(`${found}/dashboard/vendor/uPlot.esm.js`);
    expect(vendored.status).toBe(200);
    expect(await vendored.text()).toContain('uPlot');
  });

  it('checks its options', () => {
    expect(() => createDashboardHandler({ basePath: 'dashboard' })).toThrow(/^basePath: /);
    expect(() => createDashboardHandler({ pollMs: 10 })).toThrow(/^pollMs: /);
    expect(DASHBOARD_PUBLIC_DIR.endsWith('/public/')).toBe(true);
  });
});
