/**
 * What both runnable backends of examples/ (Express and FastAPI) must do behind a real
 * hub: messages (dedupe by Idempotency-Key, a 4xx refusal), requests, connect (admit,
 * refuse), publish (rewrite, refuse) and disconnect, with every call signed and verified
 * by the example's own code.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { TetherClient } from '@tether/client';
import { waitFor, withTimeout } from '@tether/testkit';
import { expect } from 'vitest';
import { WebSocket } from 'ws';
import { closeHubs, HOST, startTestHub } from './hub-helpers.js';

export const EXAMPLES = fileURLToPath(new URL('../../../examples/', import.meta.url));
const SECRET = 'example-secret-that-is-32-chars!!!';
const cleanups: Array<() => Promise<unknown> | unknown> = [];

/** Stops what the example test started (run it in afterEach). */
export async function cleanUpExample(): Promise<void> {
  for (const fn of cleanups.splice(0).reverse()) await fn();
  await closeHubs();
}

/** Starts a backend process; resolves with its base URL once `ready` answers. */
export async function startProcess(command: string, args: string[], cwd: string, port: number) {
  const child: ChildProcess = spawn(command, args, {
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PORT: String(port), TETHER_BACKEND_SECRET: SECRET },
  });
  let output = '';
  child.stdout?.on('data', (chunk) => {
    output += String(chunk);
  });
  child.stderr?.on('data', (chunk) => {
    output += String(chunk);
  });
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 5_000).unref();
      }),
  );
  const url = `http://${HOST}:${port}`;
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`the backend exited: ${output}`);
      const response = await fetch(`${url}/messages`).catch(() => undefined);
      await response?.arrayBuffer();
      return response?.ok || undefined;
    },
    { timeoutMs: 30_000, message: `the example backend on ${url}` },
  );
  return url;
}

/** What both examples must do behind a hub. */
export async function exerciseExample(url: string): Promise<void> {
  const { hub } = await startTestHub({
    backend: {
      url,
      secret: SECRET,
      events: ['message', 'request', 'connect', 'publish', 'subscribe', 'disconnect'],
    },
    topics: { 'chat:*': { publish: 'authenticated', subscribe: 'authenticated' } },
  });
  const client = (token: string) => {
    const c = new TetherClient(`ws://${HOST}:${hub.port}/ws`, {
      WebSocket,
      token,
      minReconnectDelayMs: 20,
      maxReconnectDelayMs: 200,
    });
    cleanups.push(() => c.close());
    return c;
  };
  const alice = client('demo-alice');
  const opened = new Promise((resolve) => alice.on('open', (e) => resolve(e.welcomeData)));
  await alice.connect();
  expect(await withTimeout(opened, 5_000, 'open')).toEqual({ greeting: 'hello alice' });

  await alice.send({ text: 'one' });
  await alice.send({ text: 'two' });
  await expect(alice.send({ text: '' })).rejects.toMatchObject({
    code: 'INVALID_MESSAGE',
    message: expect.stringContaining('text is required'),
  });
  await alice.send({ text: 'three' });
  await expect(alice.request('sum', { a: 2, b: 3 })).resolves.toEqual({ sum: 5 });
  await expect(alice.request('nope')).rejects.toMatchObject({
    code: 'UNKNOWN_METHOD',
    message: expect.stringContaining('unknown method nope'),
  });
  const stored = (await (await fetch(`${url}/messages`)).json()) as Array<{
    key: string;
    user: string;
    text: string;
  }>;
  expect(stored.map((m) => [m.user, m.text])).toEqual([
    ['alice', 'one'],
    ['alice', 'two'],
    ['alice', 'three'],
  ]);
  expect(stored.map((m) => m.key)).toEqual([1, 2, 4].map((seq) => `${alice.sessionId}:${seq}`));

  const room = alice.subscribe('chat:lobby');
  const pubs = room[Symbol.asyncIterator]();
  await alice.publish('chat:lobby', { text: 'hi all' });
  await expect(alice.publish('chat:lobby', { text: 'buy spam' })).rejects.toMatchObject({
    code: 'FORBIDDEN',
    message: 'no spam, please',
  });
  expect((await withTimeout(pubs.next(), 5_000, 'publication')).value).toMatchObject({
    data: { text: 'hi all', by: 'alice' },
  });

  for (const [token, code, reason] of [
    ['banned-bob', 4003, 'this user is banned'],
    ['who-knows', 4001, 'unknown token'],
  ] as const) {
    const refused = client(token);
    const closed = new Promise<{ code: number; reason: string }>((resolve) =>
      refused.on('close', resolve),
    );
    void refused.connect().catch(() => {});
    expect(await withTimeout(closed, 5_000, `close of ${token}`)).toMatchObject({ code, reason });
  }

  await alice.close();
  await waitFor(
    async () =>
      ((await (await fetch(`${url}/disconnects`)).json()) as Array<{ user: string }>).find(
        (d) => d.user === 'alice',
      ),
    { timeoutMs: 5_000, message: 'the disconnect notification' },
  );
}
