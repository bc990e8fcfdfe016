/**
 * TetherSocket's raw writes (issue 13): heartbeats and shared fan-out messages go to the
 * TCP socket as prebuilt frames, one write each, instead of through ws's per-socket
 * framing; with permessage-deflate negotiated they fall back to ws's own `send`/`ping`.
 * And its events reach the connection through listeners shared by every socket.
 */
import { once } from 'node:events';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { withTimeout } from '@tether/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { type SocketOwner, TetherSocket, textFrame, textFrameOf } from '../src/tether-socket.js';
import { RawClient, type Started, startTether, until } from './helpers.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A ws server built on TetherSocket; resolves with the server side and client side of one connection. */
async function pair(
  perMessageDeflate: boolean,
): Promise<{ server: TetherSocket; client: WebSocket }> {
  const wss = new WebSocketServer({
    host: '127.0.0.1',
    port: 0,
    WebSocket: TetherSocket,
    perMessageDeflate,
  });
  cleanups.push(() => new Promise<void>((resolve) => wss.close(() => resolve())));
  await once(wss, 'listening');
  const { port } = wss.address() as AddressInfo;
  const accepted = once(wss, 'connection');
  const client = new WebSocket(`ws://127.0.0.1:${port}`, { perMessageDeflate });
  cleanups.push(() => client.terminate());
  const [server] = (await withTimeout(accepted, 5_000, 'connection')) as [TetherSocket];
  await withTimeout(once(client, 'open'), 5_000, 'client open');
  cleanups.push(() => server.terminate());
  return { server, client };
}

/** Counts calls of ws's own `send` and `ping` on `socket` (they still run). */
function countWsWrites(socket: TetherSocket): { send: number; ping: number } {
  const counts = { send: 0, ping: 0 };
  const send = socket.send.bind(socket);
  const ping = socket.ping.bind(socket);
  socket.send = ((...args: Parameters<typeof send>) => {
    counts.send += 1;
    send(...args);
  }) as typeof socket.send;
  socket.ping = ((...args: Parameters<typeof ping>) => {
    counts.ping += 1;
    ping(...args);
  }) as typeof socket.ping;
  return counts;
}

/** ws's own framing (its Sender is not in its typings). */
const { Sender } = createRequire(import.meta.url)('ws') as {
  Sender: { frame(data: Buffer, options: Record<string, unknown>): Buffer[] };
};

const SIZES = [0, 5, 125, 126, 200, 65_535, 65_536, 70_000];

describe('textFrame', () => {
  it('builds the bytes ws frames for each length class (7-bit, 16-bit, 64-bit)', () => {
    for (const size of SIZES) {
      const data = Buffer.alloc(size, 'a');
      const ws = Sender.frame(data, {
        fin: true,
        rsv1: false,
        opcode: 1,
        mask: false,
        readOnly: false,
      });
      expect(textFrame(data).equals(Buffer.concat(ws)), `length ${size}`).toBe(true);
    }
  });
});

describe('textFrameOf', () => {
  it('frames a string with the same bytes as textFrame of its UTF-8 (multi-byte text too)', () => {
    for (const size of SIZES) {
      const text = `${'é€'.repeat(size >> 2)}${'a'.repeat(size & 3)}`;
      const data = Buffer.from(text);
      expect(textFrameOf(text, data.length).equals(textFrame(data)), `length ${size}`).toBe(true);
    }
  });
});

/** What `client` receives, and how many pongs `server` heard. */
function watch(
  server: { on(event: 'pong', f: () => void): unknown },
  client: { on(event: 'message', f: (data: { toString(): string }) => void): unknown },
) {
  const received: string[] = [];
  client.on('message', (data) => received.push(data.toString()));
  let count = 0;
  server.on('pong', () => {
    count += 1;
  });
  return { received, pongs: () => count };
}

describe('TetherSocket raw writes', () => {
  it('writes shared frames, texts and heartbeats without ws send/ping; the client reads them intact', async () => {
    const { server, client } = await pair(false);
    const writes = countWsWrites(server);
    const { received, pongs } = watch(server, client);
    const texts = SIZES.map((size, i) => `${i}:${'é'.repeat(size >> 1)}`);
    for (const text of texts) {
      const data = Buffer.from(text);
      server.sendFramed(textFrame(data), data, () => {});
      server.sendText(text, data.length, () => {});
    }
    server.heartbeat();
    await until(() => received.length === texts.length * 2 && pongs() === 1, 'messages and pong');
    expect(received).toEqual(texts.flatMap((text) => [text, text]));
    expect(writes).toEqual({ send: 0, ping: 0 });
  });

  it('calls afterWrites back once the raw writes before it (made without a callback) reached the kernel', async () => {
    const { server, client } = await pair(false);
    const { received } = watch(server, client);
    // Larger than loopback's socket buffers: the write cannot complete at once.
    const data = Buffer.alloc(32 << 20, 0x61);
    server.sendFramed(textFrame(data), data);
    expect(server.bufferedAmount).toBeGreaterThan(0);
    let held = -1;
    await withTimeout(
      new Promise<void>((resolve) =>
        server.afterWrites(() => {
          held = server.bufferedAmount;
          resolve();
        }),
      ),
      10_000,
      'afterWrites callback',
    );
    expect(held).toBe(0);
    await until(() => received.length === 1, 'the large message');
    expect(received[0]?.length).toBe(data.length);
  });

  it('falls back to ws send and ping when permessage-deflate is negotiated', async () => {
    const { server, client } = await pair(true);
    expect(server.extensions).toContain('permessage-deflate');
    const writes = countWsWrites(server);
    const { received, pongs } = watch(server, client);
    const data = Buffer.from('x'.repeat(2_000));
    server.sendFramed(textFrame(data), data, () => {});
    server.sendText(data.toString(), data.length, () => {});
    server.heartbeat();
    await until(() => received.length === 2 && pongs() === 1, 'messages and pong');
    expect(received).toEqual([data.toString(), data.toString()]);
    expect(writes).toEqual({ send: 2, ping: 1 });
  });
});

describe('TetherSocket events', () => {
  let started: Started | undefined;
  afterEach(async () => {
    await started?.tether.close({ drainTimeoutMs: 500 });
    started = undefined;
  });

  it('routes events to the connection without a listener per connection', async () => {
    started = await startTether();
    started.endpoint.handle('echo', (data) => data ?? null);
    const a = await RawClient.connect(started.url);
    cleanups.push(() => a.close());
    expect(await a.request('echo', 'hi', 1)).toMatchObject({ ok: true, data: 'hi' });
    const [connection] = [...(started.endpoint.connections.values() as Iterable<unknown>)];
    const ws = (connection as { ws: TetherSocket }).ws;
    for (const event of ['message', 'pong', 'ping', 'error'] as const) {
      expect(ws.listenerCount(event), event).toBe(0);
    }
  });

  it('stops routing after detach; errors still reach the owner', async () => {
    const { server } = await pair(false);
    const seen: string[] = [];
    const owner: SocketOwner = {
      socketMessage: () => seen.push('message'),
      socketPong: () => seen.push('pong'),
      socketPing: () => seen.push('ping'),
      socketClose: () => seen.push('close'),
      socketError: () => seen.push('error'),
      implicitClose: () => 'reason',
    };
    server.attach(owner);
    server.emit('message', Buffer.from('x'), false);
    server.detach();
    server.emit('message', Buffer.from('y'), false);
    server.emit('pong', Buffer.alloc(0));
    // No 'error' listener: taken by the owner instead of thrown.
    expect(server.emit('error', new Error('late'))).toBe(true);
    expect(seen).toEqual(['message', 'error']);
  });
});
