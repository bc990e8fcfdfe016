/**
 * The client in Node with `ws`, against the real Tether server on loopback.
 */
import { AuthError } from '@tether/server';
import { waitFor } from '@tether/testkit';
import { describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { FinalCloseError, type RetryEvent } from '../src/index.js';
import { HOST } from './helpers/real-server.js';
import { useRealSetup } from './helpers/real-setup.js';

const { client, defer, server } = useRealSetup(
  { minReconnectDelayMs: 50, maxReconnectDelayMs: 200 },
  1000,
);

describe('against the real server', () => {
  it('connects, requests, sends reliably (acked) and receives messages', async () => {
    const s = await server();
    const received: unknown[] = [];
    s.endpoint.on('message', ({ data }) => received.push(data));
    s.endpoint.on('connection', (conn) => {
      conn.send({ hello: 'client' });
    });
    const c = client(s.url);
    const first = c.messages().next();
    await c.connect();
    expect((await first).value).toMatchObject({ data: { hello: 'client' } });
    await expect(c.request('echo', { x: 1 })).resolves.toEqual({ x: 1 });
    await expect(c.request('missing')).rejects.toMatchObject({ code: 'NO_HANDLER' });
    await Promise.all([1, 2, 3].map((n) => c.send({ n })));
    expect(received).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
    expect(c.stats().queued).toBe(0);
    expect(c.sessionId).toEqual(expect.any(String));
  });

  it('passes the token (subprotocol by default, or header) to the auth hook on every connect', async () => {
    const tokens: Array<string | undefined> = [];
    const s = await server({
      authenticate: ({ token }) => {
        tokens.push(token);
        return true;
      },
    });
    let n = 0;
    const c = client(s.url, { token: async () => `t${++n}` });
    await c.connect();
    const h = client(s.url, { token: 'head', authVia: 'header' });
    await h.connect();
    for (const conn of s.endpoint.connections.values()) conn.close(1011, 'again');
    await waitFor(() => c.stats().connects === 2 && h.stats().connects === 2, {
      message: 'both reconnected',
    });
    expect(tokens.sort()).toEqual(['head', 'head', 't1', 't2']);
  });

  it('stops on 4001 from the auth hook and raises UNAUTHORIZED with a re-authenticate hint', async () => {
    const s = await server({
      authenticate: () => {
        throw new AuthError('unauthorized', 'token expired');
      },
    });
    const c = client(s.url, { token: 'old' });
    const errors: unknown[] = [];
    c.on('error', ({ error }) => errors.push(error));
    await expect(c.connect()).rejects.toBeInstanceOf(FinalCloseError);
    expect(c.state).toBe('closed');
    const error = errors.at(-1) as FinalCloseError;
    expect(error).toMatchObject({
      code: 'UNAUTHORIZED',
      closeCode: 4001,
      recovery: 're-authenticate',
    });
    expect(c.stats().attempts).toBe(1);
  });

  it('stops after the first 404 at an unknown path, with an error naming the status and body', async () => {
    const s = await server();
    const c = client(s.url.replace(/\/ws$/, '/no-such-endpoint'));
    const errors: unknown[] = [];
    c.on('error', ({ error }) => errors.push(error));
    const failure = await c.connect().then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(failure).toBeInstanceOf(FinalCloseError);
    expect(failure).toMatchObject({ closeCode: 4004, httpStatus: 404 });
    expect(String((failure as Error).message)).toMatch(/HTTP 404/);
    // The server's own words travel with it: the body of the refusal.
    expect((failure as FinalCloseError).closeReason).toBe(
      'HTTP 404 no WebSocket endpoint at /no-such-endpoint',
    );
    expect((failure as FinalCloseError).recovery).toBe('check-url');
    expect(c.state).toBe('closed');
    expect(c.stats().attempts).toBe(1);
    expect(errors.at(-1)).toBe(failure);
  });

  it('honours HTTP 429 + Retry-After at the upgrade (per-IP cap) as a hint', async () => {
    const s = await server({ maxConnectionsPerIp: 1 });
    const a = client(s.url);
    await a.connect();
    const b = client(s.url, { random: () => 0 });
    const retry = new Promise<RetryEvent>((resolve) => b.once('retry', resolve));
    const event = await retry;
    expect(event).toMatchObject({ kind: 'hint', closeCode: 1013 });
    expect(event.retryAfterMs).toBeGreaterThanOrEqual(1000);
    expect(event.delayMs).toBe(event.retryAfterMs);
  });

  it('abandons an upgrade that never gets a welcome (connect timeout) and tries again', async () => {
    // A server the real one cannot imitate: it upgrades, then says nothing.
    const mute = new WebSocketServer({ host: HOST, port: 0, handleProtocols: () => 'tether.v1' });
    defer(() => new Promise((resolve) => mute.close(resolve)));
    await new Promise((resolve) => mute.once('listening', resolve));
    const port = (mute.address() as { port: number }).port;
    const c = client(`ws://${HOST}:${port}/ws`, { connectTimeoutMs: 200 });
    const closes: number[] = [];
    c.on('close', ({ code }) => closes.push(code));
    await waitFor(() => closes.length >= 2, { message: 'two connect timeouts' });
    expect(closes.slice(0, 2)).toEqual([4012, 4012]);
    await c.close();
    await waitFor(() => mute.clients.size === 0, { message: 'the server saw every socket close' });
  });

  it('close() leaves no socket open on the server side', async () => {
    const s = await server();
    const clients = [client(s.url), client(s.url), client(s.url)];
    await Promise.all(clients.map((c) => c.connect()));
    expect(s.endpoint.connections.size).toBe(3);
    await Promise.all(clients.map((c) => c.close()));
    await waitFor(() => s.endpoint.connections.size === 0, {
      message: 'all server connections closed',
    });
    expect(clients.every((c) => c.state === 'closed')).toBe(true);
  });
});

/** ws's WebSocket recording what each socket sends and which subprotocol it got. */
function recordingWebSocket(): { ctor: typeof WebSocket; sent: string[]; protocols: string[] } {
  const sent: string[] = [];
  const protocols: string[] = [];
  class Recording extends WebSocket {
    constructor(...args: ConstructorParameters<typeof WebSocket>) {
      super(...args);
      this.on('open', () => protocols.push(this.protocol));
    }
    override send(data: unknown, ...rest: unknown[]): void {
      sent.push(String(data));
      (super.send as (...a: unknown[]) => void)(data, ...rest);
    }
  }
  return { ctor: Recording as unknown as typeof WebSocket, sent, protocols };
}

const helloFrames = (sent: string[]): string[] => sent.filter((s) => s.includes('"t":"hello"'));

describe('early hello', () => {
  it('carries hello in the upgrade: no hello frame, and a reconnect resumes the same way', async () => {
    const s = await server();
    const ws = recordingWebSocket();
    const c = client(s.url, { WebSocket: ws.ctor as never });
    const opens: boolean[] = [];
    c.on('open', ({ resumed }) => opens.push(resumed));
    await c.connect();
    await expect(c.request('echo', 1)).resolves.toBe(1);
    for (const conn of s.endpoint.connections.values()) conn.close(1011, 'again');
    await waitFor(() => opens.length === 2, { message: 'reconnected' });
    expect(opens).toEqual([false, true]);
    expect(ws.protocols).toEqual(['tether.v1.early', 'tether.v1.early']);
    expect(helloFrames(ws.sent)).toEqual([]);
  });

  it('sends the hello frame with earlyHello off', async () => {
    const s = await server();
    const ws = recordingWebSocket();
    const c = client(s.url, { WebSocket: ws.ctor as never, earlyHello: false });
    await c.connect();
    expect(ws.protocols).toEqual(['tether.v1']);
    expect(helloFrames(ws.sent)).toHaveLength(1);
  });

  it('sends the hello frame to a server that selects plain tether.v1', async () => {
    const plain = new WebSocketServer({ host: HOST, port: 0, handleProtocols: () => 'tether.v1' });
    defer(() => new Promise((resolve) => plain.close(resolve)));
    await new Promise((resolve) => plain.once('listening', resolve));
    const offered: string[][] = [];
    const first: string[] = [];
    plain.on('connection', (socket, request) => {
      offered.push(String(request.headers['sec-websocket-protocol']).split(/, */));
      socket.once('message', (data) => first.push(String(data)));
    });
    const port = (plain.address() as { port: number }).port;
    const c = client(`ws://${HOST}:${port}/ws`, { connectTimeoutMs: 5_000 });
    await waitFor(() => first.length === 1, { message: 'the first frame' });
    expect(offered[0]?.slice(0, 2)).toEqual(['tether.v1', 'tether.v1.early']);
    expect(offered[0]?.[2]).toMatch(/^tether\.hello\.[A-Za-z0-9_-]+$/);
    expect(JSON.parse(first[0] as string)).toMatchObject({ t: 'hello', v: 1 });
    await c.close();
  });
});
