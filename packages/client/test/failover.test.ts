/**
 * Failover without a load balancer, end to end: real servers on port 0 sharing one store,
 * the client given all their URLs. The node it is on is killed (every socket destroyed,
 * no goodbye); it moves on to another, resumes its session there, and its reliable
 * sends, the server's messages and a topic subscription lose nothing and duplicate
 * nothing. Refusing URLs (a closed port, an HTTP 503 with a long Retry-After) are skipped
 * at once.
 */

import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { MemoryStore } from '@tether/server';
import { getFreePort, waitFor, withTimeout } from '@tether/testkit';
import { describe, expect, it } from 'vitest';
import type { FailoverEvent, RetryEvent, SessionEvent, TetherClient } from '../src/index.js';
import { HOST, type RunningServer } from './helpers/real-server.js';
import { useRealSetup } from './helpers/real-setup.js';

const { client, defer, server } = useRealSetup(
  { minReconnectDelayMs: 20, maxReconnectDelayMs: 200, breakerThreshold: 0 },
  500,
);

const range = (from: number, to: number): number[] =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** Three nodes on one store (shared in this process, as a cluster shares Redis). */
async function cluster(): Promise<RunningServer[]> {
  const store = new MemoryStore();
  defer(() => store.close());
  return [
    await server({}, 0, { store }),
    await server({}, 0, { store }),
    await server({}, 0, { store }),
  ];
}

function record(c: TetherClient) {
  const messages: unknown[] = [];
  const sessions: SessionEvent[] = [];
  const failovers: FailoverEvent[] = [];
  c.on('message', (m) => messages.push(m.data));
  c.on('session', (e) => sessions.push(e));
  c.on('failover', (e) => failovers.push(e));
  return { messages, sessions, failovers };
}

/** An HTTP server that refuses every upgrade with 503 and a long Retry-After. */
async function refusing503(): Promise<Server> {
  const http = createServer((_req, res) => res.writeHead(503).end());
  http.on('upgrade', (_req, socket: Socket) => {
    socket.end('HTTP/1.1 503 Service Unavailable\r\nRetry-After: 60\r\nContent-Length: 0\r\n\r\n');
  });
  await new Promise<void>((resolve) => http.listen(0, HOST, resolve));
  defer(() => new Promise<void>((resolve) => http.close(() => resolve())));
  return http;
}

const urlOf = (http: Server): string => {
  const address = http.address();
  if (address === null || typeof address === 'string') throw new Error('not listening');
  return `ws://${HOST}:${address.port}/ws`;
};

describe('failover between nodes sharing a store', () => {
  it('the node dies: the client moves on, resumes, and loses or repeats nothing', async () => {
    const nodes = await cluster();
    const [n1, n2, n3] = nodes as [RunningServer, RunningServer, RunningServer];
    const handled: number[] = [];
    for (const n of nodes) n.endpoint.onMessage((data) => void handled.push(data as number));
    const c = client(nodes.map((n) => n.url));
    const seen = record(c);
    const sub = c.subscribe('feed');
    const pubs: unknown[] = [];
    const gaps: unknown[] = [];
    sub.on('pub', (p) => pubs.push(p.data));
    sub.on('gap', (g) => gaps.push(g));
    await sub.ready();
    expect(c.url).toBe(n1.url);
    const sid = c.sessionId as string;
    const sends: Promise<void>[] = [];
    // Each phase runs on the node the client is on, then that node is killed mid-stream.
    const phase = async (node: RunningServer, from: number, to: number): Promise<void> => {
      for (let n = from; n <= to; n++) {
        sends.push(c.send(n));
        await node.endpoint.sendTo(sid, n);
        await node.endpoint.publish('feed', n);
      }
    };
    await phase(n1, 1, 60);
    await waitFor(() => seen.messages.length >= 20 && handled.length >= 20, {
      message: 'some traffic before the first kill',
    });
    await n1.kill();
    // Until the client saw the kill it may still report itself open on n1.
    await waitFor(() => c.state === 'open' && c.url !== n1.url, {
      timeoutMs: 10_000,
      message: 'open on another node',
    });
    expect(c.url).toBe(n2.url);
    await phase(n2, 61, 120);
    await n2.kill();
    await waitFor(() => c.state === 'open' && c.url === n3.url, {
      timeoutMs: 10_000,
      message: 'open on the third node',
    });
    await phase(n3, 121, 180);
    await withTimeout(Promise.all(sends), 20_000, 'every send acknowledged');
    await waitFor(() => seen.messages.length >= 180 && pubs.length >= 180, {
      timeoutMs: 20_000,
      message: 'every message and publication',
    });
    expect(seen.messages).toEqual(range(1, 180));
    expect(pubs).toEqual(range(1, 180));
    expect(handled).toEqual(range(1, 180));
    expect(gaps).toEqual([]);
    expect(seen.sessions.map((s) => s.resumed)).toEqual([false, true, true]);
    expect(c.sessionId).toBe(sid);
    expect(seen.failovers.map((f) => [f.from, f.to])).toEqual([
      [n1.url, n2.url],
      [n2.url, n3.url],
    ]);
    expect(c.stats().url).toBe(n3.url);
  });

  it('refusing URLs (a closed port, HTTP 503 with Retry-After: 60) are skipped at once', async () => {
    const closedPort = `ws://${HOST}:${await getFreePort()}/ws`;
    const refusing = urlOf(await refusing503());
    const live = await server();
    const c = client([closedPort, refusing, live.url], { autoConnect: false });
    const retries: RetryEvent[] = [];
    c.on('retry', (r) => retries.push(r));
    // The 60 s hint (and any backoff) would blow this deadline; failover does not wait.
    await withTimeout(c.connect(), 5_000, 'open on the live URL');
    expect(c.url).toBe(live.url);
    expect(retries.map((r) => [r.closeCode, r.kind, r.delayMs])).toEqual([
      [1006, 'failover', 0],
      [1012, 'failover', 0],
    ]);
  });

  it('a url function picks each attempt’s node and the session resumes there', async () => {
    const [n1, n2] = (await cluster()) as [RunningServer, RunningServer];
    const alive = new Set([n1.url, n2.url]);
    // Service discovery: the first node still listed as alive.
    const c = client(async () => [...alive][0] as string);
    const seen = record(c);
    await c.connect();
    expect(c.url).toBe(n1.url);
    await n1.endpoint.sendTo(c.sessionId as string, 'before');
    await waitFor(() => seen.messages.length === 1, { message: 'first message' });
    alive.delete(n1.url);
    await n1.kill();
    await waitFor(() => c.state === 'open' && c.url === n2.url, {
      timeoutMs: 10_000,
      message: 'open on the second node',
    });
    await n2.endpoint.sendTo(c.sessionId as string, 'after');
    await waitFor(() => seen.messages.length === 2, { message: 'second message' });
    expect(seen.messages).toEqual(['before', 'after']);
    expect(seen.sessions.map((s) => s.resumed)).toEqual([false, true]);
    expect(seen.failovers.map((f) => [f.from, f.to])).toEqual([[n1.url, n2.url]]);
  });
});
