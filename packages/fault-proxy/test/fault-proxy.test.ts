import { waitFor } from '@tether/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  connectRecording,
  type EchoServer,
  type RecordingClient,
  settle,
  startEchoServer,
} from '../../testkit/test/helpers.js';
import { abort } from '../src/fault-link.js';
import { createFaultProxy, type FaultProxy } from '../src/index.js';

describe('createFaultProxy', () => {
  let echo: EchoServer;
  let proxy: FaultProxy;
  const clients: RecordingClient[] = [];

  const connectClient = async (): Promise<RecordingClient> => {
    const client = await connectRecording(proxy.port);
    clients.push(client);
    return client;
  };

  beforeEach(async () => {
    echo = await startEchoServer();
    proxy = await createFaultProxy({ target: { host: '127.0.0.1', port: echo.port } });
  });

  afterEach(async () => {
    for (const client of clients.splice(0)) client.socket.destroy();
    await proxy.close();
    await echo.close();
  });

  it('forwards both directions and counts connections', async () => {
    const client = await connectClient();
    client.socket.write('hello');
    await waitFor(() => client.received() === 'hello', { message: 'echo through the proxy' });
    expect(echo.received()).toBe('hello');
    expect(proxy.connections).toBe(1);
    expect(proxy.totalConnections).toBe(1);
    expect(proxy.traffic).toEqual({ toTarget: 5, toClient: 5 });
  });

  it('forwards a FIN as a FIN', async () => {
    const client = await connectClient();
    client.socket.end('bye');
    await waitFor(() => client.ended(), { message: 'client sees the echo server end' });
    expect(client.received()).toBe('bye');
    expect(client.error()).toBeUndefined();
    await waitFor(() => proxy.connections === 0, { message: 'pair released' });
  });

  it('pause() stalls bytes in both directions and keeps the sockets open', async () => {
    const client = await connectClient();
    client.socket.write('before;');
    await waitFor(() => client.received() === 'before;');

    proxy.pause();
    expect(proxy.paused).toBe(true);
    client.socket.write('during;');
    await waitFor(() => proxy.held.bytes === 'during;'.length, { message: 'proxy holds bytes' });
    await settle();
    expect(echo.received()).toBe('before;');
    expect(client.received()).toBe('before;');
    expect(client.closed()).toBe(false);
    expect(echo.sockets[0]?.destroyed).toBe(false);
    expect(proxy.connections).toBe(1);
  });

  it('resume() delivers what was held, in order', async () => {
    const client = await connectClient();
    proxy.pause();
    const parts = Array.from({ length: 50 }, (_, i) => `${i};`);
    for (const part of parts) client.socket.write(part);
    const all = parts.join('');
    await waitFor(() => proxy.held.bytes === all.length, { message: 'proxy holds all parts' });
    expect(echo.received()).toBe('');

    proxy.resume();
    await waitFor(() => client.received() === all, { message: 'echo of held parts' });
    expect(echo.received()).toBe(all);
    expect(proxy.held).toEqual({ bytes: 0, items: 0 });
  });

  it('while paused, a server-side close does not reach the client (half-open)', async () => {
    const client = await connectClient();
    await waitFor(() => echo.sockets.length === 1);
    proxy.pause();
    echo.sockets[0]?.resetAndDestroy();
    await waitFor(() => proxy.held.items === 1, { message: 'proxy holds the reset' });
    await settle();
    expect(client.closed()).toBe(false);

    proxy.resume();
    await waitFor(() => client.closed(), { message: 'client sees the reset after resume' });
    expect(client.error()?.code).toBe('ECONNRESET');
  });

  it('resetAll() aborts every pair: clients see ECONNRESET', async () => {
    const first = await connectClient();
    const second = await connectClient();
    await waitFor(() => proxy.connections === 2 && echo.sockets.length === 2);

    expect(proxy.resetAll()).toBe(2);
    expect(proxy.connections).toBe(0);
    await waitFor(() => first.closed() && second.closed(), { message: 'clients closed' });
    expect(first.error()?.code).toBe('ECONNRESET');
    expect(second.error()?.code).toBe('ECONNRESET');
    await waitFor(() => echo.sockets.every((socket) => socket.destroyed), {
      message: 'server sockets closed',
    });

    // The proxy keeps accepting after a reset.
    const third = await connectClient();
    third.socket.write('again');
    await waitFor(() => third.received() === 'again');
  });

  it('resetAll() also drops a paused pair', async () => {
    const client = await connectClient();
    proxy.pause();
    client.socket.write('held');
    await waitFor(() => proxy.held.bytes === 4);
    expect(proxy.resetAll()).toBe(1);
    await waitFor(() => client.closed());
    expect(client.error()?.code).toBe('ECONNRESET');
    expect(echo.received()).toBe('');
  });

  it('keeps order under latency with jitter', async () => {
    proxy.setLatency(5, 20);
    const client = await connectClient();
    const parts = Array.from({ length: 100 }, (_, i) => `${i},`);
    for (const part of parts) client.socket.write(part);
    const all = parts.join('');
    await waitFor(() => client.received() === all, { message: 'all parts, in order' });
    expect(echo.received()).toBe(all);
  });

  it('delivers every byte intact under a bandwidth cap', async () => {
    proxy.setBandwidth(256 * 1024);
    const client = await connectClient();
    const payload = 'x'.repeat(16 * 1024);
    client.socket.write(payload);
    await waitFor(() => client.received().length === payload.length, { timeoutMs: 10_000 });
    expect(client.received()).toBe(payload);
    proxy.setBandwidth(null);
  });

  it('cutEvery() keeps cutting connections until stopped', async () => {
    proxy.cutEvery(20, 10);
    const first = await connectClient();
    await waitFor(() => first.closed(), { message: 'first cut' });
    const second = await connectClient();
    await waitFor(() => second.closed(), { message: 'second cut' });
    expect(second.error()?.code).toBe('ECONNRESET');

    proxy.cutEvery(null);
    const third = await connectClient();
    third.socket.write('survives');
    await waitFor(() => third.received() === 'survives');
  });

  it('refuseConnections() resets new connections only', async () => {
    const open = await connectClient();
    proxy.refuseConnections(true);
    const refused = await connectClient().catch((err: NodeJS.ErrnoException) => err);
    if (!(refused instanceof Error)) {
      await waitFor(() => refused.closed(), { message: 'refused connection closed' });
      expect(refused.received()).toBe('');
    }
    expect(proxy.connections).toBe(1);
    open.socket.write('still up');
    await waitFor(() => open.received() === 'still up');

    proxy.refuseConnections(false);
    const accepted = await connectClient();
    accepted.socket.write('ok');
    await waitFor(() => accepted.received() === 'ok');
  });

  it('resets the client when the target is down', async () => {
    await echo.close();
    const client = await connectClient();
    await waitFor(() => client.closed(), { message: 'client closed' });
    expect(client.received()).toBe('');
    expect(client.error()?.code).toBe('ECONNRESET');
  });

  it('close() ends every pair and stops listening', async () => {
    const client = await connectClient();
    proxy.setLatency(10);
    proxy.cutEvery(60_000);
    await proxy.close();
    // A FIN, not a reset: the client (allowHalfOpen) sees the end of the stream.
    await waitFor(() => client.ended() || client.closed(), { message: 'client sees the end' });
    expect(proxy.connections).toBe(0);
    await expect(connectRecording(proxy.port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await proxy.close();
  });

  it('rejects invalid settings with a message naming them', () => {
    expect(() => proxy.setLatency(-1)).toThrow(/latency/);
    expect(() => proxy.setBandwidth(0)).toThrow(/bandwidth/);
    expect(() => proxy.cutEvery(Number.NaN)).toThrow(/cut interval/);
    expect(() => proxy.cutEvery(0)).toThrow(/cut interval/);
  });
});

describe('abort', () => {
  it('closes a socket whose FIN is still in flight', async () => {
    // A peer that ends its side and then resets (a close handshake cut short) makes the
    // proxy end its own socket and abort it in one go. A TCP reset of a socket whose
    // shutdown is still pending fails (EINVAL): the socket was left open for good, its
    // pair never released.
    const echo = await startEchoServer();
    try {
      const client = await connectRecording(echo.port);
      client.socket.write('x');
      client.socket.end();
      abort(client.socket);
      await waitFor(() => client.closed(), { message: 'socket closed after abort' });
      expect(client.error()).toBeUndefined();
    } finally {
      await echo.close();
    }
  });
});
