/**
 * Issue 9, finding 7 at the hub: one token churned 5,000 sessions, then one 30 kB
 * `/api/send {user}` stored a copy for each of them. With the per-user cap, the SQLite
 * hub keeps at most `limits.maxSessionsPerUser` sessions of that user, and the send
 * stores at most that many copies.
 */
import { join } from 'node:path';
import { SUBPROTOCOL } from '@tether/protocol';
import { SERVER_DEFAULTS } from '@tether/server';
import { type TempDir, tempDir, withTimeout } from '@tether/testkit';
import { SignJWT } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { API_KEY, call, closeHubs, HOST, JWT_SECRET, startTestHub } from './hub-helpers.js';

let dir: TempDir | undefined;

afterEach(async () => {
  await closeHubs();
  await dir?.cleanup();
  dir = undefined;
});

/** Opens a session (hello → welcome) with `token` and drops the socket at once. */
async function churnOnce(port: number, token: string): Promise<void> {
  const ws = new WebSocket(`ws://${HOST}:${port}/ws`, [SUBPROTOCOL], {
    headers: { Authorization: `Bearer ${token}` },
  });
  ws.on('error', () => {});
  const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
  const welcomed = new Promise<void>((resolve, reject) => {
    ws.on('message', (data) => {
      if (String(data).includes('"welcome"')) resolve();
    });
    ws.once('close', (code) => reject(new Error(`closed with ${code} before welcome`)));
  });
  ws.once('open', () => ws.send(JSON.stringify({ t: 'hello', v: 1 })));
  await withTimeout(welcomed, 10_000, 'welcome');
  ws.terminate();
  await closed;
}

describe('sessions per user at the hub', () => {
  it('after 5,000 churned sessions of one token, a 30 kB /api/send {user} stores at most the cap', async () => {
    dir = await tempDir('tether-hub-sessions-');
    const { hub } = await startTestHub({
      store: `sqlite:${join(dir.path, 'hub.db')}`,
      auth: { mode: 'jwt', secret: JWT_SECRET },
    });
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('alice')
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(JWT_SECRET));
    const total = 5_000;
    let next = 0;
    // Eight at a time, under the per-IP cap, as a reloading client or a churning token would.
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < total) {
          next += 1;
          await churnOnce(hub.port, token);
        }
      }),
    );
    const cap = SERVER_DEFAULTS.maxSessionsPerUser;
    const sessions = await hub.store.sessionsOfUser('alice');
    expect(sessions.length).toBeGreaterThan(0);
    expect(sessions.length).toBeLessThanOrEqual(cap);

    const before = await hub.store.stats();
    const sent = await call(hub, 'POST', '/api/send', {
      key: API_KEY,
      body: { user: 'alice', data: { text: 'x'.repeat(30_000) } },
    });
    expect(sent.status).toBe(200);
    const copies = (sent.body.sessions as unknown[]).length;
    expect(copies).toBeGreaterThan(0);
    expect(copies).toBeLessThanOrEqual(cap);
    const after = await hub.store.stats();
    expect(after.sessionMessages - before.sessionMessages).toBe(copies);
    expect(after.sessions).toBeLessThanOrEqual(cap);
  }, 120_000);
});
