/**
 * The API refuses bad calls with typed errors and loses nothing: invalid close()
 * options, non-JSON payloads on connection.send(), and calls after close().
 */
import { OptionError } from '@tether/common';
import { afterEach, describe, expect, it } from 'vitest';
import { DeliveryError, type TetherConnection } from '../src/index.js';
import { RawClient, type Started, startTether } from './helpers.js';

let started: Started | undefined;

afterEach(async () => {
  await started?.tether.close({ drainTimeoutMs: 500 });
  started = undefined;
});

describe('close() options', () => {
  it.each([
    [{ drainTimeoutMs: -1 }, 'close.drainTimeoutMs'],
    [{ retryAfterMs: Number.NaN }, 'close.retryAfterMs'],
    [{ retrySpreadMs: 1.5 }, 'close.retrySpreadMs'],
    [{ reason: 42 as unknown as string }, 'close.reason'],
    [{ drainTimeout: 5 } as never, 'close.drainTimeout'],
  ])('refuses %j naming %s, and the server keeps running', async (options, name) => {
    started = await startTether();
    expect(() => started?.tether.close(options)).toThrow(OptionError);
    try {
      started.tether.close(options);
    } catch (err) {
      expect((err as OptionError).option).toBe(name);
    }
    expect(started.tether.stats().state).toBe('running');
  });
});

describe('connection.send()', () => {
  it('rejects data that is not JSON with INVALID_PAYLOAD and sends nothing', async () => {
    started = await startTether();
    const connected = new Promise<TetherConnection>((resolve) => {
      started?.endpoint.on('connection', (connection) => resolve(connection));
    });
    const client = await RawClient.connect(started.url);
    const connection = await connected;
    for (const bad of [undefined, () => 1, 10n]) {
      expect(() => connection.send(bad as never)).toThrow(DeliveryError);
    }
    expect(connection.send({ ok: true })).toBe(true);
    const frame = await client.next((f) => f.t === 'msg');
    expect(frame.data).toEqual({ ok: true });
    client.close();
  });
});

describe('after close()', () => {
  it('publish and sendTo reject with SERVER_CLOSED', async () => {
    started = await startTether();
    const { tether, endpoint } = started;
    await tether.close({ drainTimeoutMs: 100 });
    started = undefined;
    await expect(tether.publish('news', 1)).rejects.toMatchObject({ code: 'SERVER_CLOSED' });
    await expect(endpoint.publish('news', 1)).rejects.toMatchObject({ code: 'SERVER_CLOSED' });
    await expect(endpoint.sendTo('nope', 1)).rejects.toMatchObject({ code: 'SERVER_CLOSED' });
    await expect(endpoint.sendToUser('u', 1)).rejects.toMatchObject({ code: 'SERVER_CLOSED' });
  });
});
