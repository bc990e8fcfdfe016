/**
 * The hub is killed with SIGKILL mid-stream (SQLite store) and started again on the same
 * port and file: the backend sees every message at least once, always with the same
 * Idempotency-Key, and deduplication by that key yields exactly the sent sequence.
 * Runs `tether serve` in a child process, as an operator would.
 */
import { join } from 'node:path';
import { TetherClient } from '@tether/client';
import { getFreePort, tempDir, waitFor, withTimeout } from '@tether/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { acceptedNumbers, startBackend } from '../../hub/test/backend-helpers.js';
import { type HubProcess, startHubProcess } from './hub-process.js';

const HOST = '127.0.0.1';
const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

/** `tether serve` with a SQLite file and the backend; resolves once it listens. */
async function startHub(port: number, dbPath: string, backendUrl: string): Promise<HubProcess> {
  const hub = await startHubProcess(
    [
      '--port',
      String(port),
      '--host',
      HOST,
      '--insecure',
      '--store',
      `sqlite:${dbPath}`,
      '--backend-url',
      backendUrl,
    ],
    {
      TETHER_LOG_LEVEL: 'silent',
      // Pages read their files next to their package's sources; the bundle has none.
      TETHER_DASHBOARD: 'false',
      TETHER_DEMO: 'false',
      TETHER_BACKEND_RETRY_MIN: '20ms',
      TETHER_BACKEND_RETRY_MAX: '200ms',
    },
  );
  cleanups.push(() => hub.stop());
  return hub;
}

describe('a hub killed mid-stream (SQLite)', () => {
  it('the backend sees every seq at least once, with the same key; dedupe by key is the sent sequence', async () => {
    const dir = await tempDir('tether-backend-kill-');
    cleanups.push(() => dir.cleanup());
    const backend = await startBackend();
    cleanups.push(() => backend.close());
    const port = await getFreePort();
    const db = join(dir.path, 'tether.db');
    let hub = await startHub(port, db, backend.url);
    const client = new TetherClient(`ws://${HOST}:${port}/ws`, {
      WebSocket,
      minReconnectDelayMs: 50,
      maxReconnectDelayMs: 300,
      breakerThreshold: 0,
    });
    cleanups.push(() => client.close());
    await client.connect();
    const total = 300;
    const sends = Array.from({ length: total }, (_, i) => client.send({ n: i + 1 }));
    await waitFor(() => acceptedNumbers(backend.calls).length >= 100 || undefined, {
      timeoutMs: 20_000,
      message: '100 messages at the backend',
    });
    // SIGKILL: nothing is flushed or said goodbye.
    await hub.stop();
    const before = acceptedNumbers(backend.calls).length;
    expect(before).toBeLessThan(total);
    hub = await startHub(port, db, backend.url);
    await withTimeout(Promise.all(sends), 60_000, 'every send() resolved after the restart');

    const messages = backend.calls.filter((c) => c.event === 'message' && c.status === 200);
    const byKey = new Map<string, number>();
    for (const call of messages) {
      const key = String(call.headers['idempotency-key']);
      const n = (call.body.data as { n: number }).n;
      // A key always names the same message.
      if (byKey.has(key)) expect(byKey.get(key)).toBe(n);
      else byKey.set(key, n);
      expect(key).toBe(`${call.body.session}:${call.body.seq}`);
    }
    expect([...byKey.values()]).toEqual(Array.from({ length: total }, (_, i) => i + 1));
  }, 120_000);
});
