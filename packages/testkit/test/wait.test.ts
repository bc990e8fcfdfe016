import { EventEmitter } from 'node:events';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { once, paced, TestTimeoutError, waitFor, withTimeout } from '../src/index.js';

describe('waitFor', () => {
  it('resolves with the first truthy value', async () => {
    let calls = 0;
    const value = await waitFor(() => {
      calls += 1;
      return calls >= 3 ? { calls } : undefined;
    });
    expect(value).toEqual({ calls: 3 });
  });

  it('treats a throwing predicate as "not yet"', async () => {
    let calls = 0;
    await waitFor(() => {
      calls += 1;
      if (calls < 3) throw new Error('not yet');
      return true;
    });
    expect(calls).toBe(3);
  });

  it('rejects with the message and the last error on deadline', async () => {
    const error = await waitFor(
      () => {
        throw new Error('still disconnected');
      },
      { timeoutMs: 30, intervalMs: 5, message: 'client reconnected' },
    ).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(TestTimeoutError);
    expect((error as TestTimeoutError).code).toBe('TESTKIT_TIMEOUT');
    expect((error as Error).message).toMatch(/^client reconnected .*still disconnected/);
  });
});

describe('once', () => {
  it('resolves with the event arguments', async () => {
    const emitter = new EventEmitter();
    const waiting = once<[number, string]>(emitter, 'open', 1000);
    emitter.emit('open', 1, 'a');
    expect(await waiting).toEqual([1, 'a']);
    expect(emitter.listenerCount('open')).toBe(0);
    expect(emitter.listenerCount('error')).toBe(0);
  });

  it("rejects on 'error'", async () => {
    const emitter = new EventEmitter();
    const waiting = once(emitter, 'open', 1000);
    emitter.emit('error', new Error('boom'));
    await expect(waiting).rejects.toThrow('boom');
  });

  it('rejects on deadline and removes its listeners', async () => {
    const emitter = new EventEmitter();
    await expect(once(emitter, 'open', 10)).rejects.toBeInstanceOf(TestTimeoutError);
    expect(emitter.listenerCount('open')).toBe(0);
  });
});

describe('withTimeout', () => {
  it('passes a settled promise through', async () => {
    expect(await withTimeout(Promise.resolve(42), 1000, 'answer')).toBe(42);
    await expect(withTimeout(Promise.reject(new Error('no')), 1000)).rejects.toThrow('no');
  });

  it('rejects with the label when the promise does not settle in time', async () => {
    let settle = (): void => {};
    const late = new Promise<void>((resolve) => {
      settle = resolve;
    });
    await expect(withTimeout(late, 10, 'handshake')).rejects.toThrow(
      'handshake timed out after 10 ms',
    );
    settle();
  });
});

describe('once with real sockets', () => {
  it('waits for a ws client to open and a message to arrive', async () => {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await once(server, 'listening', 5000);
    const { port } = server.address() as AddressInfo;
    server.on('connection', (socket) => socket.send('welcome'));
    const client = new WebSocket(`ws://127.0.0.1:${port}`);
    const message = once<[Buffer]>(client, 'message', 5000);
    await once(client, 'open', 5000);
    const [data] = await message;
    expect(data.toString()).toBe('welcome');
    client.close();
    await once(client, 'close', 5000);
    await new Promise((resolve) => server.close(resolve));
  });
});

describe('paced', () => {
  it('runs at most maxSteps steps, one at a time, and stops when until() says so', async () => {
    let running = 0;
    let overlapped = false;
    const seen: number[] = [];
    const steps = await paced({ intervalMs: 1, maxSteps: 5 }, async (n) => {
      running += 1;
      overlapped ||= running > 1;
      seen.push(n);
      // A step longer than several ticks: the next still waits for it.
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setTimeout(resolve, 5));
      running -= 1;
    });
    expect(steps).toBe(5);
    expect(seen).toEqual([1, 2, 3, 4, 5]);
    expect(overlapped).toBe(false);
    let stop = false;
    const until = await paced({ intervalMs: 1, maxSteps: 100, until: () => stop }, (n) => {
      if (n === 3) stop = true;
    });
    expect(until).toBe(3);
  });

  it('a step that throws ends it with that error', async () => {
    await expect(
      paced({ intervalMs: 1, maxSteps: 10 }, (n) => {
        if (n === 2) throw new Error('step 2 failed');
      }),
    ).rejects.toThrow('step 2 failed');
  });
});
