/**
 * The hub is killed with SIGKILL mid-stream (SQLite store) and started again on the same
 * port and file: the backend sees every message at least once, always with the same
 * Idempotency-Key, and deduplication by that key yields exactly the sent sequence.
 * Runs the built `tether serve` (packages/cli/dist), as an operator would.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TetherClient } from '@tether/client';
import { getFreePort, tempDir, waitFor, withTimeout } from '@tether/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { acceptedNumbers, startBackend } from './backend-helpers.js';

const HOST = '127.0.0.1';
const bin = fileURLToPath(new URL('../bin/tether.js', import.meta.url));
const built = existsSync(fileURLToPath(new URL('../dist/index.js', import.meta.url)));
const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

/** SIGTERM, SIGKILL after 5 s; resolves once it exited. */
function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** `tether serve` as a child; resolves once it printed its listening line. */
async function startHub(port: number, dbPath: string, backendUrl: string): Promise<ChildProcess> {
  const args = [bin, 'serve', '--port', String(port), '--host', HOST, '--insecure'];
  args.push('--store', `sqlite:${dbPath}`, '--backend-url', backendUrl);
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      VITEST: '',
      TETHER_LOG_LEVEL: 'silent',
      TETHER_BACKEND_RETRY_MIN: '20ms',
      TETHER_BACKEND_RETRY_MAX: '200ms',
    },
  });
  cleanups.push(() => stop(child));
  let out = '';
  child.stdout?.setEncoding('utf8');
  const listening = new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (chunk: string) => {
      out += chunk;
      if (out.includes('tether listening on')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`tether serve exited ${code}: ${out}`)));
  });
  await withTimeout(listening, 15_000, 'tether serve listening');
  return child;
}

describe.skipIf(!built)('a hub killed mid-stream (SQLite)', () => {
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
    hub.kill('SIGKILL');
    await new Promise((resolve) => hub.once('exit', resolve));
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
