import { connect } from 'node:net';
import { SUBPROTOCOL } from '@tether/protocol';
import { withTimeout } from '@tether/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import type { ServeHandle } from '../src/index.js';
import { closeHubs, HOST, JWT_SECRET, startTestHub } from './hub-helpers.js';

/**
 * Issue 9, finding 4: a development hub (auth off) accepted any `Origin` and any `Host`,
 * so every web page the developer opened could read and publish through it (cross-site
 * WebSocket hijacking), and DNS rebinding reached its HTTP endpoints.
 */

afterEach(async () => {
  await closeHubs();
});

/**
 * Sends one request (an upgrade to /ws when `upgrade`) with exactly these `Host` and
 * `Origin` headers over a raw socket, and resolves the status of the answer's head.
 */
function statusOf(
  hub: ServeHandle,
  options: { path?: string; host: string; origin?: string; upgrade?: boolean },
): Promise<number> {
  const lines = [`GET ${options.path ?? '/ws'} HTTP/1.1`, `Host: ${options.host}`];
  if (options.origin !== undefined) lines.push(`Origin: ${options.origin}`);
  if (options.upgrade ?? true) {
    lines.push(
      'Upgrade: websocket',
      'Connection: Upgrade',
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
      'Sec-WebSocket-Version: 13',
      `Sec-WebSocket-Protocol: ${SUBPROTOCOL}`,
    );
  } else lines.push('Connection: close');
  const socket = connect(hub.port, HOST);
  const answer = new Promise<number>((resolve, reject) => {
    let data = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      data += chunk;
      if (data.includes('\r\n')) resolve(Number(data.split(' ')[1]));
    });
    socket.on('error', reject);
    socket.on('close', () => reject(new Error(`closed without an answer: ${data}`)));
  });
  socket.write(`${lines.join('\r\n')}\r\n\r\n`);
  return withTimeout(answer, 5000, 'HTTP answer').finally(() => socket.destroy());
}

describe('an auth-off hub refuses other sites', () => {
  it('refuses upgrades from another Origin or Origin: null with 403; its own origin or none is fine', async () => {
    const { hub } = await startTestHub();
    const host = `${HOST}:${hub.port}`;
    expect(await statusOf(hub, { host, origin: 'https://evil.example' })).toBe(403);
    expect(await statusOf(hub, { host, origin: 'null' })).toBe(403);
    // Same host name, another port: another origin.
    expect(await statusOf(hub, { host, origin: `http://${HOST}:1` })).toBe(403);
    expect(await statusOf(hub, { host, origin: `http://${host}` })).toBe(101);
    expect(await statusOf(hub, { host })).toBe(101);
    expect(
      await statusOf(hub, {
        host: `localhost:${hub.port}`,
        origin: `http://localhost:${hub.port}`,
      }),
    ).toBe(101);
  });

  it('answers 403 to requests and upgrades whose Host is not a loopback name (DNS rebinding)', async () => {
    const { hub } = await startTestHub();
    for (const path of ['/healthz', '/', '/dashboard', '/api/publish']) {
      expect(await statusOf(hub, { path, host: 'evil.example', upgrade: false }), path).toBe(403);
      expect(await statusOf(hub, { path, host: `evil.example:${hub.port}`, upgrade: false })).toBe(
        403,
      );
    }
    expect(await statusOf(hub, { host: `evil.example:${hub.port}` })).toBe(403);
    for (const host of [
      `localhost:${hub.port}`,
      'localhost',
      `127.0.0.1:${hub.port}`,
      `127.4.5.6:${hub.port}`,
      `[::1]:${hub.port}`,
    ]) {
      expect(await statusOf(hub, { path: '/healthz', host, upgrade: false }), host).toBe(200);
    }
    expect(await statusOf(hub, { host: `[::1]:${hub.port}` })).toBe(101);
  });

  it('leaves a hub with auth on to its tokens and its origins setting', async () => {
    const { hub } = await startTestHub({ auth: { mode: 'jwt', secret: JWT_SECRET } });
    // The upgrade goes through (the missing token is refused after it, with 4001).
    expect(
      await statusOf(hub, { host: `${HOST}:${hub.port}`, origin: 'https://app.example' }),
    ).toBe(101);
    expect(
      await statusOf(hub, { path: '/healthz', host: 'tether.example.com', upgrade: false }),
    ).toBe(200);
  });
});
