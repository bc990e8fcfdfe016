/**
 * Test helpers for the server: a standalone server on 127.0.0.1:0, a raw protocol client
 * built on plain `ws` (no Tether client code: it writes the JSON itself), and a raw HTTP
 * upgrade over `net` to read refusals exactly as they go over the wire.
 */
import { connect } from 'node:net';
import { SUBPROTOCOL } from '@tether/protocol';
import { type FaultProxy, waitFor, withTimeout } from '@tether/testkit';
import { afterEach } from 'vitest';
import { WebSocket } from 'ws';
import {
  type Endpoint,
  type EndpointOptions,
  silentLogger,
  TetherServer,
  type TetherServerOptions,
} from '../src/index.js';

export const HOST = '127.0.0.1';
const DEFAULT_WAIT_MS = 5_000;

export interface Started {
  tether: TetherServer;
  endpoint: Endpoint;
  port: number;
  url: string;
}

/** A standalone server on 127.0.0.1:0 with one endpoint at `/ws`. */
export async function startTether(
  endpointOptions: EndpointOptions = {},
  serverOptions: Omit<TetherServerOptions, 'port' | 'host' | 'server'> = {},
): Promise<Started> {
  const tether = new TetherServer({ port: 0, host: HOST, logger: silentLogger, ...serverOptions });
  const endpoint = tether.endpoint('/ws', endpointOptions);
  const { port } = await tether.listen();
  return { tether, endpoint, port, url: `ws://${HOST}:${port}/ws` };
}

/** What {@link serverPerTest} gives a test file. */
export interface ServerPerTest {
  /** {@link startTether}, closed after the test. */
  start: typeof startTether;
  /** Raw clients to close after the test; returns the first. */
  keep(first: RawClient, ...more: RawClient[]): RawClient;
  /** A fault proxy of the test: resumed before the server closes, closed after it. */
  proxy(proxy: FaultProxy): FaultProxy;
  /** The server the running test started last. */
  readonly started: Started | undefined;
}

/**
 * The cleanup every server test file shares (call once, at the top): after each test its
 * raw clients are closed, then its server (given `drainTimeoutMs`), then its fault
 * proxies, then `after` runs.
 */
export function serverPerTest(
  options: { drainTimeoutMs?: number; after?: () => Promise<void> } = {},
): ServerPerTest {
  let started: Started | undefined;
  const clients: RawClient[] = [];
  const proxies: FaultProxy[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    // A paused proxy would hold the server's close until the drain timeout.
    for (const p of proxies) p.resume();
    await started?.tether.close({ drainTimeoutMs: options.drainTimeoutMs ?? 500 });
    started = undefined;
    for (const p of proxies.splice(0)) await p.close();
    await options.after?.();
  });
  return {
    async start(endpointOptions, serverOptions) {
      started = await startTether(endpointOptions, serverOptions);
      return started;
    },
    keep(first, ...more) {
      clients.push(first, ...more);
      return first;
    },
    proxy(proxy) {
      proxies.push(proxy);
      return proxy;
    },
    get started() {
      return started;
    },
  };
}

/** A frame as the raw client sees it. */
export type AnyFrame = { t: string; [field: string]: unknown };

export interface Closed {
  code: number;
  reason: string;
}

/**
 * A protocol client on plain `ws`: every text message is parsed and batches are split,
 * so tests wait for single frames. It never answers app pings by itself.
 */
export class RawClient {
  readonly frames: AnyFrame[] = [];
  /** Raw text messages, as received. */
  readonly messages: string[] = [];
  readonly closed: Promise<Closed>;
  private waiters: Array<() => void> = [];
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      const text = data.toString();
      this.messages.push(text);
      const parsed = JSON.parse(text) as AnyFrame | AnyFrame[];
      for (const frame of Array.isArray(parsed) ? parsed : [parsed]) this.frames.push(frame);
      this.notify();
    });
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        resolve({ code, reason: reason.toString() });
        this.notify();
      });
    });
    ws.on('error', () => {});
  }

  /** Opens a socket offering `tether.v1` (plus `protocols`), without saying hello. */
  static async open(
    url: string,
    options: {
      protocols?: string[];
      headers?: Record<string, string>;
      origin?: string;
      /** Whether ws answers protocol pings by itself (default true, as ws does). */
      autoPong?: boolean;
    } = {},
  ): Promise<RawClient> {
    const ws = new WebSocket(url, options.protocols ?? [SUBPROTOCOL], {
      headers: options.headers,
      origin: options.origin,
      autoPong: options.autoPong ?? true,
    });
    const client = new RawClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    });
    return client;
  }

  /** Opens a socket and completes hello/welcome. */
  static async connect(
    url: string,
    options: Parameters<typeof RawClient.open>[1] = {},
  ): Promise<RawClient> {
    const client = await RawClient.open(url, options);
    client.sendJson({ t: 'hello', v: 1 });
    await client.next((f) => f.t === 'welcome');
    return client;
  }

  sendJson(value: unknown): void {
    this.ws.send(JSON.stringify(value));
  }

  sendRaw(data: string | Buffer, binary = false): void {
    this.ws.send(data, { binary });
  }

  private notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /**
   * The first frame received since index `from` (default: since the last `next` call
   * consumed one) that matches; waits with a deadline.
   */
  private cursor = 0;
  async next(match: (frame: AnyFrame) => boolean, timeoutMs = DEFAULT_WAIT_MS): Promise<AnyFrame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (let i = this.cursor; i < this.frames.length; i += 1) {
        const frame = this.frames[i] as AnyFrame;
        if (match(frame)) {
          this.cursor = i + 1;
          return frame;
        }
      }
      const left = deadline - Date.now();
      if (left <= 0 || this.ws.readyState === WebSocket.CLOSED) {
        throw new Error(
          `no matching frame within ${timeoutMs} ms; got ${JSON.stringify(this.frames.slice(this.cursor)).slice(0, 600)}`,
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Waits for the close, with a deadline. */
  waitClosed(timeoutMs = DEFAULT_WAIT_MS): Promise<Closed> {
    return withTimeout(this.closed, timeoutMs, 'waiting for the close');
  }

  /** Sends a request and waits for its reply. */
  async request(method: string, data: unknown, id: number | string): Promise<AnyFrame> {
    this.sendJson({ t: 'req', id, method, data });
    return this.next((f) => f.t === 'res' && f.id === id);
  }

  close(): void {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) {
      this.ws.terminate();
    }
  }
}

export interface HttpAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * Sends a WebSocket upgrade request over a raw TCP socket and reads the HTTP answer as
 * it is on the wire (the socket must end: never a dropped connection without a status).
 */
export function rawUpgrade(
  port: number,
  path: string,
  headers: Record<string, string> = { 'Sec-WebSocket-Protocol': SUBPROTOCOL },
  timeoutMs = DEFAULT_WAIT_MS,
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, HOST);
    let data = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no complete HTTP answer within ${timeoutMs} ms: ${JSON.stringify(data)}`));
    }, timeoutMs);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      data += chunk;
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      const [head = '', body = ''] = data.split('\r\n\r\n');
      const [statusLine = '', ...lines] = head.split('\r\n');
      const status = Number(statusLine.split(' ')[1]);
      const parsed: Record<string, string> = {};
      for (const line of lines) {
        const i = line.indexOf(':');
        if (i > 0) parsed[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
      }
      if (!Number.isFinite(status)) reject(new Error(`no HTTP status in ${JSON.stringify(data)}`));
      else resolve({ status, headers: parsed, body });
    });
    const lines = [
      `GET ${path} HTTP/1.1`,
      `Host: ${HOST}:${port}`,
      'Upgrade: websocket',
      'Connection: Upgrade',
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
      'Sec-WebSocket-Version: 13',
      ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
    ];
    socket.write(`${lines.join('\r\n')}\r\n\r\n`);
  });
}

/** Polls `predicate` until true, with a deadline: testkit's `waitFor`, named for these tests. */
export async function until(
  predicate: () => boolean,
  message: string,
  timeoutMs = DEFAULT_WAIT_MS,
): Promise<void> {
  await waitFor(predicate, { timeoutMs, intervalMs: 10, message: `timed out: ${message}` });
}
