import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { withTimeout } from '@tether/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { parsePrometheus, type Sample } from '../../server/test/prometheus-text.js';
import { HOST } from './hub-helpers.js';

/**
 * Issue 9, finding 2: a stranger without a key must not grow the hub's memory by asking
 * for paths that do not exist. Unknown `/api/*` and `/admin/*` paths used to become a
 * `route` label of `tether_http_requests_total` (before the key check), one series each,
 * never removed: 10,000 random 8 kB paths added 288 MiB and made `/metrics` 86 MB.
 *
 * The hub runs as the built `tether serve` in a child process, so its RSS is its own.
 * `TETHER_TEST_LABEL_REQUESTS` sets the number of requests: the acceptance run is
 * 100,000 (`TETHER_TEST_LABEL_REQUESTS=100000 npx vitest run
 * packages/hub/test/hub-metric-labels.test.ts`); the default 10,000 keeps CI quick and
 * still proves the bound (before the fix it made 10,000 series).
 */

const REQUESTS = Number(process.env.TETHER_TEST_LABEL_REQUESTS ?? 10_000);
/** Keep-alive sockets, each with one request in flight. */
const SOCKETS = 8;
/** Length of each random path segment: long, as in the finding, yet far below Node's 16 kB header limit. */
const PATH_BYTES = 2_048;
const OPS_KEY = 'test-ops-key-0123456789';
const API_KEY = 'test-api-key-0123456789';
const ADMIN_KEY = 'test-admin-key-0123456789';

const bin = fileURLToPath(new URL('../../cli/bin/tether.js', import.meta.url));
const built = existsSync(fileURLToPath(new URL('../../cli/dist/index.js', import.meta.url)));

let child: ChildProcess | undefined;
afterEach(async () => {
  const running = child;
  child = undefined;
  if (running === undefined || running.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => running.once('exit', () => resolve()));
  running.kill('SIGKILL');
  await withTimeout(exited, 10_000, 'hub exit');
});

/** Starts `tether serve` on a free loopback port; resolves its URL. */
async function startHubProcess(): Promise<string> {
  const args = [bin, 'serve', '--port', '0', '--host', HOST, '--store', 'memory', '--insecure'];
  const started = spawn(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'ignore'],
    env: {
      ...process.env,
      VITEST: '',
      TETHER_LOG_LEVEL: 'warn',
      TETHER_API_KEY: API_KEY,
      TETHER_ADMIN_KEY: ADMIN_KEY,
      TETHER_OPS_KEY: OPS_KEY,
    },
  });
  child = started;
  let out = '';
  started.stdout?.setEncoding('utf8');
  const listening = new Promise<string>((resolve) => {
    started.stdout?.on('data', (chunk: string) => {
      out += chunk;
      const match = /tether listening on (http:\/\/\S+) \(ws: \/ws\)/.exec(out);
      if (match?.[1]) resolve(match[1]);
    });
  });
  return withTimeout(listening, 15_000, 'hub listening line');
}

async function scrape(url: string): Promise<{ bytes: number; samples: Sample[] }> {
  const response = await fetch(`${url}/metrics`, {
    headers: { Authorization: `Bearer ${OPS_KEY}` },
  });
  expect(response.status).toBe(200);
  const text = await response.text();
  return { bytes: Buffer.byteLength(text), samples: parsePrometheus(text).samples };
}

const series = (samples: Sample[], name: string): Set<string> =>
  new Set(samples.filter((s) => s.name === name).map((s) => JSON.stringify(s.labels)));

const rss = (samples: Sample[]): number => {
  const sample = samples.find((s) => s.name === 'process_resident_memory_bytes');
  if (sample === undefined) throw new Error('no process_resident_memory_bytes');
  return sample.value;
};

/** `count` keyless requests to random paths, `SOCKETS` at a time over keep-alive sockets. */
async function flood(url: string, count: number, path: (i: number) => string): Promise<void> {
  const { hostname, port } = new URL(url);
  const agent = new Agent({ keepAlive: true, maxSockets: SOCKETS });
  let next = 0;
  const one = (i: number): Promise<number> =>
    new Promise((resolve, reject) => {
      const req = request(
        { agent, host: hostname, port, path: path(i), method: i % 3 === 0 ? 'POST' : 'GET' },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end();
    });
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next;
      next += 1;
      const status = await one(i);
      if (status < 400 || status >= 500) throw new Error(`request ${i}: status ${status}`);
    }
  };
  try {
    await Promise.all(Array.from({ length: SOCKETS }, worker));
  } finally {
    agent.destroy();
  }
}

describe.skipIf(!built)('metric labels a stranger can create (built tether serve)', () => {
  it(`${REQUESTS} keyless requests to distinct /api/* and /admin/* paths add at most one series`, async () => {
    const url = await startHubProcess();
    const segment = (i: number): string =>
      `${i.toString(36)}-${randomBytes(PATH_BYTES / 2).toString('hex')}`;
    // Warm up: the same kind of traffic, so that the baseline RSS already holds what
    // serving it costs (JIT code, buffers, the agent's sockets).
    await flood(url, 2_000, (i) => `/api/warm/${segment(i)}`);
    const before = await scrape(url);
    const seriesBefore = series(before.samples, 'tether_http_requests_total');

    const started = Date.now();
    await withTimeout(
      flood(url, REQUESTS, (i) => `${i % 2 === 0 ? '/api' : '/admin'}/${segment(i)}`),
      240_000,
      `${REQUESTS} requests`,
    );
    const seconds = (Date.now() - started) / 1000;
    const after = await scrape(url);
    const seriesAfter = series(after.samples, 'tether_http_requests_total');
    const added = [...seriesAfter].filter((s) => !seriesBefore.has(s));
    const growthMiB = (rss(after.samples) - rss(before.samples)) / 2 ** 20;
    console.info(
      `${REQUESTS} requests in ${seconds.toFixed(1)} s: ${added.length} new series, /metrics ${after.bytes} bytes, RSS +${growthMiB.toFixed(1)} MiB`,
    );
    expect(added.length).toBeLessThanOrEqual(1);
    expect(after.bytes).toBeLessThan(100_000);
    expect(growthMiB).toBeLessThan(20);
  });
});
