/**
 * Issue 9, finding 9: a client that sends half a request must not hold a socket for
 * Node's ~70 s (60 s headers deadline, checked every 30 s) before any per-IP cap applies.
 */
import { connect, type Socket } from 'node:net';
import { PROTOCOL_VERSION, SUBPROTOCOL } from '@tether/protocol';
import { receivedUntilClose, withTimeout } from '@tether/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { SERVER_DEFAULTS, silentLogger, TetherServer } from '../src/index.js';
import { HOST } from './helpers.js';

let tether: TetherServer | undefined;
const sockets: Socket[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await tether?.close({ drainTimeoutMs: 100 });
  tether = undefined;
});

/** Connects and sends an upgrade request whose headers never end; resolves what it got at close. */
async function partialRequest(port: number): Promise<{ closed: Promise<string> }> {
  const socket = connect(port, HOST);
  sockets.push(socket);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const closed = receivedUntilClose(socket);
  socket.write(
    'GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n',
  );
  return { closed };
}

describe('HTTP deadlines of the standalone server', () => {
  it('defaults to at most 10 s for headers and for a whole request', () => {
    expect(SERVER_DEFAULTS.headersTimeoutMs).toBeLessThanOrEqual(10_000);
    expect(SERVER_DEFAULTS.requestTimeoutMs).toBeLessThanOrEqual(10_000);
    const server = new TetherServer({ port: 0, logger: silentLogger });
    expect(server.httpServer.headersTimeout).toBe(SERVER_DEFAULTS.headersTimeoutMs);
    expect(server.httpServer.requestTimeout).toBe(SERVER_DEFAULTS.requestTimeoutMs);
  });

  it('cuts a client that sends partial headers once headersTimeoutMs passes, with 408', async () => {
    tether = new TetherServer({ port: 0, host: HOST, logger: silentLogger, headersTimeoutMs: 300 });
    tether.endpoint('/ws');
    const { port } = await tether.listen();
    const { closed } = await partialRequest(port);
    // 300 ms plus one check interval (75 ms here); Node's defaults would take 60-90 s.
    const answer = await withTimeout(closed, 5_000, 'the server cutting a partial request');
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('cuts a client that connects and sends nothing once headersTimeoutMs passes', async () => {
    // The headers deadline runs from the connect, also for a socket that sends no byte:
    // 408, then cut. (An upgrade front of our own would have to keep this.)
    tether = new TetherServer({ port: 0, host: HOST, logger: silentLogger, headersTimeoutMs: 300 });
    tether.endpoint('/ws');
    const { port } = await tether.listen();
    const socket = connect(port, HOST);
    sockets.push(socket);
    const received = await withTimeout(
      receivedUntilClose(socket),
      5_000,
      'the server cutting a socket that sent nothing',
    );
    expect(received).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('leaves an upgraded connection that says nothing for longer than headersTimeoutMs open', async () => {
    tether = new TetherServer({ port: 0, host: HOST, logger: silentLogger, headersTimeoutMs: 300 });
    tether.endpoint('/ws');
    const { port } = await tether.listen();
    const ws = new WebSocket(`ws://${HOST}:${port}/ws`, [SUBPROTOCOL]);
    let closedCode: number | undefined;
    ws.on('close', (code) => {
      closedCode = code;
    });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    ws.send(JSON.stringify({ t: 'hello', v: PROTOCOL_VERSION }));
    // Four deadlines without a byte from the client: an upgraded socket is no HTTP
    // request any more, and only the heartbeat decides its liveness.
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    expect(closedCode).toBeUndefined();
    expect(ws.readyState).toBe(WebSocket.OPEN);
    ws.close();
  });

  it('refuses timeouts with an attached server and a request deadline under the headers one', () => {
    expect(() => new TetherServer({ server: tetherlessServer(), headersTimeoutMs: 1000 })).toThrow(
      /^headersTimeoutMs: applies to the standalone server only/,
    );
    expect(
      () => new TetherServer({ port: 0, headersTimeoutMs: 5_000, requestTimeoutMs: 1_000 }),
    ).toThrow(/^requestTimeoutMs: must be at least headersTimeoutMs \(5000\)/);
  });
});

function tetherlessServer() {
  return new TetherServer({ port: 0, logger: silentLogger }).httpServer;
}
