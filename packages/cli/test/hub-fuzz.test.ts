/**
 * Live fuzz: a real `tether serve` (JWT on, keys set, SQLite store) in a child process
 * takes random and mutated frames on many WebSocket connections and random HTTP requests
 * on every route, for a bounded time, while an audit client keeps a numbered stream of
 * publications and direct messages going. The hub must never crash, must keep answering
 * /healthz, must keep its heap bounded, must never log client-caused trouble at `error`
 * level, and the audit client must get every numbered item exactly once and in order.
 *
 * Reproducible: the seed is printed; `TETHER_FUZZ_SEED=N` replays a run and
 * `TETHER_FUZZ_MS=N` sets its length (default 15 s, the CI size).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TetherClient } from '@tether/client';
import { SUBPROTOCOL } from '@tether/protocol';
import { paced, type TempDir, tempDir, waitFor, withTimeout } from '@tether/testkit';
import { SignJWT } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';

const BIN = fileURLToPath(new URL('../bin/tether.js', import.meta.url));
const HOST = '127.0.0.1';
const SECRET = 'fuzz-jwt-secret-that-is-32-bytes!!';
const API_KEY = 'fuzz-api-key-0123456789';
const ADMIN_KEY = 'fuzz-admin-key-0123456789';
const OPS_KEY = 'fuzz-ops-key-0123456789';
const FUZZ_MS = Number(process.env.TETHER_FUZZ_MS ?? 15_000);
const SEED = Number(process.env.TETHER_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const AUDIT_TOPIC = 'audit:stream';
const AUDIT_USER = 'auditor';
/** Heap the hub may grow by over the run: far below what one unbounded resource costs. */
const HEAP_GROWTH_LIMIT = 96 * 1024 * 1024;

/** mulberry32: a small seeded generator, so a failing run can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Random = () => number;
const int = (r: Random, n: number): number => Math.floor(r() * n);
const pick = <T>(r: Random, items: readonly T[]): T => items[int(r, items.length)] as T;

/** Code points, not UTF-16 units: a lone surrogate is not something a client can send. */
const ALPHABET = Array.from('abcXYZ019:_-./*{}%$\u0000\u00e9\u4e2d\ud83d\ude00 \\"\'<>');

function randomString(r: Random, max: number): string {
  let s = '';
  const n = int(r, max);
  for (let i = 0; i < n; i++) s += pick(r, ALPHABET);
  return s;
}

/** JSON nested `depth` deep: written as text, since building it as objects would overflow here. */
class Deep {
  constructor(
    readonly depth: number,
    readonly asArray: boolean,
  ) {}
  toText(): string {
    return this.asArray
      ? `${'['.repeat(this.depth)}1${']'.repeat(this.depth)}`
      : `${'{"a":'.repeat(this.depth)}1${'}'.repeat(this.depth)}`;
  }
}

/** JSON.stringify that writes {@link Deep} values as their text. */
function json(value: unknown): string {
  if (value instanceof Deep) return value.toText();
  if (Array.isArray(value)) return `[${value.map(json).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}:${json(v)}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

function randomValue(r: Random, budget = 3): unknown {
  switch (int(r, budget <= 0 ? 6 : 10)) {
    case 0:
      return null;
    case 1:
      return r() < 0.5;
    case 2:
      return pick(r, [0, -1, 1.5, 2 ** 53 + 1, -(2 ** 63), 1e308, Number.MAX_SAFE_INTEGER]);
    case 3:
      return randomString(r, 40);
    case 4:
      return 'x'.repeat(int(r, 70_000));
    case 5:
      return int(r, 1000);
    case 6:
      return Array.from({ length: int(r, 5) }, () => randomValue(r, budget - 1));
    case 7: {
      const o: Record<string, unknown> = {};
      for (let i = int(r, 5); i > 0; i--) o[randomString(r, 8)] = randomValue(r, budget - 1);
      return o;
    }
    case 8:
      return new Deep(int(r, 9000), r() < 0.5);
    default:
      return JSON.parse('{"__proto__":{"polluted":true},"constructor":{"prototype":1}}');
  }
}

const FRAME_TYPES = [
  'hello',
  'ping',
  'pong',
  'msg',
  'ack',
  'req',
  'res',
  'sub',
  'unsub',
  'publish',
  'error',
  'welcome',
  'pub',
  'goodbye',
  'refresh',
  'auth',
  'nope',
];

/** A frame that is valid, nearly valid, or nonsense. */
function randomFrame(r: Random, n: number): unknown {
  const topic = pick(r, [
    `fuzz:${int(r, 50)}`,
    `fuzz:${randomString(r, 20)}`,
    `other:${int(r, 5)}`,
    AUDIT_TOPIC,
    randomString(r, 300),
    '',
  ]);
  const valid: Record<string, unknown>[] = [
    { t: 'ping', ts: Date.now() },
    { t: 'msg', seq: n, data: randomValue(r) },
    { t: 'req', id: n, method: pick(r, ['time', 'nope', randomString(r, 200)]), data: null },
    { t: 'sub', topic, ...(r() < 0.5 ? { last: pick(r, [0, 5, 2 ** 53 - 1, -1]) } : {}) },
    { t: 'sub', topic, from: { epoch: randomString(r, 20), offset: int(r, 2 ** 20) } },
    { t: 'unsub', topic },
    { t: 'publish', id: n, topic, data: randomValue(r) },
    { t: 'ack', seq: int(r, 10_000) },
    { t: 'hello', v: pick(r, [1, 2, '1']) },
  ];
  const frame: Record<string, unknown> = { ...pick(r, valid) };
  const mutations = int(r, 4);
  for (let i = 0; i < mutations; i++) {
    const keys = Object.keys(frame);
    switch (int(r, 5)) {
      case 0:
        delete frame[pick(r, keys)];
        break;
      case 1:
        frame[pick(r, keys)] = randomValue(r);
        break;
      case 2:
        frame[randomString(r, 6)] = randomValue(r, 1);
        break;
      case 3:
        frame.t = pick(r, FRAME_TYPES);
        break;
      default:
        break;
    }
  }
  return frame;
}

/** Raw bytes: JSON, broken JSON, batches, binary, invalid UTF-8. */
function randomMessage(r: Random, n: number): string | Buffer {
  switch (int(r, 10)) {
    case 0:
      return json(randomFrame(r, n)).slice(0, int(r, 60));
    case 1:
      return JSON.stringify(Array.from({ length: int(r, 1200) }, () => ({ t: 'ping', ts: 1 })));
    case 2:
      return Buffer.from([0xc3, 0x28, 0xff, 0xfe]);
    case 3:
      return json(Array.from({ length: int(r, 20) }, (_, i) => randomFrame(r, n + i)));
    case 4:
      return Buffer.from(randomString(r, 100));
    default:
      return json(randomFrame(r, n));
  }
}

/** What each fuzz connection sent last, by the connection id its welcome named. */
const sentBy = new Map<string, string[]>();

interface Hub {
  child: ChildProcess;
  port: number;
  /** Every log line the hub wrote (JSON lines from pino, plus plain start lines). */
  lines: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

let hub: Hub | undefined;
let dir: TempDir | undefined;
const cleanups: Array<() => void | Promise<void>> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  if (hub !== undefined && hub.child.exitCode === null && hub.child.signalCode === null) {
    hub.child.kill('SIGKILL');
    await withTimeout(hub.exited, 10_000, 'hub exit');
  }
  hub = undefined;
  await dir?.cleanup();
  dir = undefined;
});

async function startBenchHub(configPath: string): Promise<Hub> {
  // The hub silences its logs under a test runner; this run wants them, to read their levels.
  const env = { ...process.env };
  delete env.VITEST;
  delete env.NODE_ENV;
  for (const key of Object.keys(env)) if (key.startsWith('TETHER_')) delete env[key];
  const child = spawn(process.execPath, [BIN, 'serve', '--config', configPath], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  let port: number | undefined;
  const collect = (chunk: Buffer, buffered: { rest: string }): void => {
    const text = buffered.rest + chunk.toString();
    const parts = text.split('\n');
    buffered.rest = parts.pop() ?? '';
    for (const line of parts) {
      lines.push(line);
      const match = /tether listening on http:\/\/[^:]+:(\d+)/.exec(line);
      if (match !== null) port = Number(match[1]);
    }
  };
  const out = { rest: '' };
  const err = { rest: '' };
  child.stdout?.on('data', (chunk: Buffer) => collect(chunk, out));
  child.stderr?.on('data', (chunk: Buffer) => collect(chunk, err));
  await waitFor(() => port, { timeoutMs: 20_000, message: 'hub listening' });
  return { child, port: port as number, lines, exited };
}

const agent = new Agent({ keepAlive: true, maxSockets: 8 });
cleanups.push(() => agent.destroy());

function http(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string | Buffer,
): Promise<{ status: number; text: string }> {
  // Node's client sends a DELETE or OPTIONS body without a length unless told one; the
  // hub would rightly read it as the next request.
  const length = body === undefined ? {} : { 'Content-Length': String(Buffer.byteLength(body)) };
  return new Promise((resolve, reject) => {
    const options = { host: HOST, port, method, path, headers: { ...headers, ...length }, agent };
    const req = request(options, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      res.on('error', reject);
    });
    req.setTimeout(10_000, () => req.destroy(new Error(`${method} ${path}: no answer in 10 s`)));
    req.on('error', reject);
    req.end(body);
  });
}

async function heapUsed(port: number): Promise<number> {
  const { status, text } = await http(port, 'GET', '/metrics', {
    Authorization: `Bearer ${OPS_KEY}`,
  });
  expect(status).toBe(200);
  const match = /^(?:tether_)?nodejs_heap_size_used_bytes (\d+(?:\.\d+)?(?:e\+\d+)?)$/m.exec(text);
  if (match === null) throw new Error('/metrics has no nodejs_heap_size_used_bytes');
  return Number(match[1]);
}

function token(sub: string, topics?: Record<string, string[]>): Promise<string> {
  return new SignJWT({ ...(topics === undefined ? {} : { topics }) })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(SECRET));
}

/** One raw connection that sends random messages until told to stop, reconnecting when cut. */
async function fuzzConnection(
  port: number,
  r: Random,
  tokens: string[],
  until: () => boolean,
  counts: { sent: number; connections: number; closes: Map<number, number> },
): Promise<void> {
  while (!until()) {
    const ws = new WebSocket(`ws://${HOST}:${port}/ws`, [SUBPROTOCOL], {
      headers: r() < 0.9 ? { Authorization: `Bearer ${pick(r, tokens)}` } : {},
    });
    counts.connections++;
    ws.on('error', () => {});
    // The connection id from welcome, so a hub log line can be traced to what was sent.
    let cid: string | undefined;
    const recent: string[] = [];
    ws.on('message', (data) => {
      if (cid !== undefined) return;
      const match = /"t":"welcome"[\s\S]*?"cid":"([^"]+)"/.exec(String(data));
      if (match !== null) {
        cid = match[1];
        sentBy.set(cid as string, recent);
      }
    });
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    const opened = await Promise.race([
      new Promise<boolean>((resolve) => ws.once('open', () => resolve(true))),
      closed.then(() => false),
    ]);
    if (opened) {
      if (r() < 0.9) ws.send(JSON.stringify({ t: 'hello', v: 1 }));
      let n = 1;
      while (!until() && ws.readyState === WebSocket.OPEN && n < 400) {
        const message = randomMessage(r, n++);
        ws.send(message);
        counts.sent++;
        // The last few messages, shortened: enough to tell what a logged failure came from.
        recent.push(String(message).slice(0, 300));
        if (recent.length > 5) recent.shift();
        // Paced, so the audit stream and /healthz compete with the fuzz, not starve.
        await new Promise((resolve) => setTimeout(resolve, int(r, 8)));
      }
      if (ws.readyState === WebSocket.OPEN) ws.close(1000);
    }
    const code = await withTimeout(
      closed.catch(() => -1),
      15_000,
      'fuzz socket close',
    ).catch(() => {
      ws.terminate();
      return -2;
    });
    counts.closes.set(code, (counts.closes.get(code) ?? 0) + 1);
  }
}

const PATHS = [
  '/api/publish',
  '/api/send',
  '/api/topics/fuzz:1/history',
  '/api/topics/%2e%2e%2f/history',
  '/admin/drain',
  '/admin/connections/x/disconnect',
  '/stats',
  '/stats?connections=100000',
  '/metrics',
  '/dashboard',
  '/readyz',
  '/../../etc/passwd',
  '/ws',
];

/** Random HTTP requests: random paths, methods, keys, bodies. Never a valid drain. */
async function fuzzHttp(
  port: number,
  r: Random,
  until: () => boolean,
  counts: { requests: number; statuses: Map<number, number>; errors: Map<string, number> },
): Promise<void> {
  while (!until()) {
    let path = pick(r, PATHS);
    if (r() < 0.4)
      path = `${pick(r, ['/api/', '/admin/', '/'])}${encodeURIComponent(randomString(r, 200))}`;
    const method = pick(r, ['GET', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH']);
    const key = pick(r, [API_KEY, OPS_KEY, 'wrong-key-0123456789', '']);
    // The admin key could drain the hub: the fuzz never holds it, so a drain is never valid.
    const headers: Record<string, string> = {};
    if (key !== '') headers.Authorization = `Bearer ${key}`;
    if (r() < 0.7) headers['Content-Type'] = pick(r, ['application/json', 'text/plain']);
    let body: string | undefined;
    if (method !== 'GET') {
      const data = randomValue(r);
      const topic = pick(r, [`fuzz:${int(r, 50)}`, randomString(r, 30), 'other:1']);
      body = pick(r, [
        json({ topic, data }),
        json({ user: pick(r, ['u1', 'u2', randomString(r, 300)]), data }),
        json({ session: randomString(r, 30), data }),
        json(randomValue(r)),
        randomString(r, 200),
      ]);
    }
    const answer = await http(port, method, path, headers, body).catch((err: Error) => {
      counts.errors.set(err.message, (counts.errors.get(err.message) ?? 0) + 1);
      return { status: -1, text: '' };
    });
    counts.requests++;
    counts.statuses.set(answer.status, (counts.statuses.get(answer.status) ?? 0) + 1);
  }
}

describe('live fuzz against tether serve', () => {
  it(`never crashes, stays bounded, loses nothing (seed ${SEED}, ${FUZZ_MS} ms)`, async () => {
    console.log(`hub fuzz: seed ${SEED} (TETHER_FUZZ_SEED=${SEED} replays it), ${FUZZ_MS} ms`);
    dir = await tempDir('tether-fuzz-');
    const configPath = join(dir.path, 'tether.config.json');
    await writeFile(
      configPath,
      JSON.stringify({
        port: 0,
        host: HOST,
        store: `sqlite:${join(dir.path, 'hub.db')}`,
        auth: { mode: 'jwt', secret: SECRET },
        api: { key: API_KEY, adminKey: ADMIN_KEY, opsKey: OPS_KEY },
        // Raised so the fuzz's churn from one address is not all refused at the door.
        limits: { maxConnectionsPerIp: 1000 },
        topics: {
          'audit:*': { publish: 'none', subscribe: 'authenticated' },
          'fuzz:*': { publish: 'authenticated', subscribe: 'authenticated' },
        },
        log: { level: 'info' },
      }),
    );
    hub = await startBenchHub(configPath);
    const port = hub.port;
    let crashed: string | undefined;
    void hub.exited.then(({ code, signal }) => {
      crashed = `hub exited during the run: code ${code} signal ${signal}`;
    });

    // The audit client: subscribed to the numbered topic, receiving numbered direct messages.
    const auditToken = await token(AUDIT_USER, { subscribe: ['audit:*'], publish: [] });
    const audit = new TetherClient(`ws://${HOST}:${port}/ws`, {
      WebSocket,
      token: auditToken,
      minReconnectDelayMs: 50,
      maxReconnectDelayMs: 500,
    });
    cleanups.push(() => audit.close().then(() => undefined));
    const published: number[] = [];
    const direct: number[] = [];
    audit.on('message', (m) => direct.push(m.data as number));
    const subscription = audit.subscribe(AUDIT_TOPIC);
    subscription.on('pub', (e) => published.push(e.data as number));
    const gaps: unknown[] = [];
    subscription.on('gap', (g) => gaps.push(g));
    await audit.connect();
    await waitFor(() => subscription.state === 'subscribed', { message: 'audit subscribed' });

    const heapBefore = await heapUsed(port);
    const fuzzTokens = [
      await token('fuzzer-1', { publish: ['fuzz:*'], subscribe: ['fuzz:*'] }),
      await token('fuzzer-2'),
      await token(AUDIT_USER, { subscribe: ['fuzz:*'] }),
      'not-a-token',
      `${auditToken.slice(0, -4)}AAAA`,
    ];
    const deadline = Date.now() + FUZZ_MS;
    const over = (): boolean => Date.now() >= deadline || crashed !== undefined;
    const wsCounts = { sent: 0, connections: 0, closes: new Map<number, number>() };
    const httpCounts = {
      requests: 0,
      statuses: new Map<number, number>(),
      errors: new Map<string, number>(),
    };

    // The numbered streams, paced so the audit covers the whole run.
    let sentPublications = 0;
    let sentDirect = 0;
    // One pair every 10 ms: the audit spans the whole fuzz, in a bounded number of steps.
    const auditStream = paced(
      { intervalMs: 10, maxSteps: FUZZ_MS / 10 + 1, until: over },
      async () => {
        // Through the API as the application would, with its key; each must be accepted.
        const api = async (path: string, body: unknown): Promise<void> => {
          const headers = {
            Authorization: `Bearer ${API_KEY}`,
            'Content-Type': 'application/json',
          };
          const answer = await http(port, 'POST', path, headers, JSON.stringify(body));
          expect(answer.status, answer.text).toBe(200);
        };
        const n = sentPublications + 1;
        await api('/api/publish', { topic: AUDIT_TOPIC, data: n });
        sentPublications = n;
        const m = sentDirect + 1;
        await api('/api/send', { user: AUDIT_USER, data: m });
        sentDirect = m;
      },
    );
    // Liveness: /healthz keeps answering while the fuzz runs, probed every 100 ms (the
    // next probe waits for the previous answer).
    let healthChecks = 0;
    const health = paced(
      { intervalMs: 100, maxSteps: FUZZ_MS / 100 + 1, until: over },
      async () => {
        const answer = await http(port, 'GET', '/healthz', {});
        expect(answer.status).toBe(200);
        healthChecks++;
      },
    );
    const fuzzers = Array.from({ length: 8 }, (_, i) =>
      fuzzConnection(port, prng(SEED + i + 1), fuzzTokens, over, wsCounts),
    );
    const httpFuzzers = Array.from({ length: 2 }, (_, i) =>
      fuzzHttp(port, prng(SEED + 100 + i), over, httpCounts),
    );
    await Promise.all([auditStream, health, ...fuzzers, ...httpFuzzers]);
    expect(crashed).toBeUndefined();
    expect(healthChecks).toBeGreaterThan(0);

    await waitFor(() => published.length >= sentPublications && direct.length >= sentDirect, {
      timeoutMs: 30_000,
      message: 'audit client caught up',
    });
    const heapAfter = await heapUsed(port);
    console.log(
      `hub fuzz: ${wsCounts.sent} frames on ${wsCounts.connections} connections, ` +
        `${httpCounts.requests} HTTP requests, ${healthChecks} health checks; ` +
        `audit ${sentPublications} publications + ${sentDirect} messages; heap ` +
        `${(heapBefore / 2 ** 20).toFixed(1)} -> ${(heapAfter / 2 ** 20).toFixed(1)} MiB; ` +
        `closes ${JSON.stringify([...wsCounts.closes])}; statuses ${JSON.stringify([...httpCounts.statuses])}; errors ${JSON.stringify([...httpCounts.errors])}`,
    );

    // Nothing lost, nothing twice, nothing out of order.
    const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1);
    expect(gaps).toEqual([]);
    expect(published).toEqual(range(sentPublications));
    expect(direct).toEqual(range(sentDirect));
    expect(sentPublications).toBeGreaterThan(10);
    // The fuzz really ran.
    expect(wsCounts.sent).toBeGreaterThan(500);
    expect(httpCounts.requests).toBeGreaterThan(100);
    // Bounded memory, and no server error (5xx) for any input.
    expect(heapAfter - heapBefore).toBeLessThan(HEAP_GROWTH_LIMIT);
    expect([...httpCounts.statuses.keys()].filter((s) => s >= 500 || s < 0)).toEqual([]);
    // Client-caused trouble is logged at warn at most: no `error` (50) or `fatal` (60) line.
    const severe = hub.lines.filter((line) => /"level":(5\d|6\d)/.test(line));
    const traced = severe.map((line) => {
      const cid = /"cid":"([^"]+)"/.exec(line)?.[1];
      return { line, lastSent: cid === undefined ? undefined : sentBy.get(cid) };
    });
    expect(traced).toEqual([]);

    // And the hub still stops cleanly.
    hub.child.kill('SIGTERM');
    const exit = await withTimeout(hub.exited, 20_000, 'hub exit after SIGTERM');
    expect(exit.code).toBe(0);
  });
});
