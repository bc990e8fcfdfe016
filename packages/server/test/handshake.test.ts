import { ManualClock } from '@tether/common';
import { authSubprotocol, SUBPROTOCOL } from '@tether/protocol';
import { describe, expect, it } from 'vitest';
import { type AuthContext, AuthError, type CloseEvent } from '../src/index.js';
import { RawClient, rawUpgrade, serverPerTest, until } from './helpers.js';

const server = serverPerTest({ drainTimeoutMs: 1000 });
const setup = server.start;

async function open(
  url: string,
  options: Parameters<typeof RawClient.open>[1] = {},
): Promise<RawClient> {
  return server.keep(await RawClient.open(url, options));
}

describe('subprotocol', () => {
  it('refuses a client that does not offer tether.v1 with HTTP 400 and a text reason', async () => {
    const { port, endpoint } = await setup();
    const none = await rawUpgrade(port, '/ws', {});
    expect(none.status).toBe(400);
    expect(none.headers['content-type']).toContain('text/plain');
    expect(none.body).toContain(SUBPROTOCOL);
    const other = await rawUpgrade(port, '/ws', { 'Sec-WebSocket-Protocol': 'chat, superchat' });
    expect(other.status).toBe(400);
    expect(endpoint.stats().refused.subprotocol).toBe(2);
  });

  it('selects tether.v1 even when an auth subprotocol is offered first', async () => {
    const { url } = await setup();
    const c = await open(url, { protocols: [authSubprotocol('t'), SUBPROTOCOL] });
    expect(c.ws.protocol).toBe(SUBPROTOCOL);
  });
});

describe('origin allowlist', () => {
  it('refuses an origin not on the list with 403 and accepts listed and absent origins', async () => {
    const { port, url } = await setup({ origins: ['https://app.example.com'] });
    const refused = await rawUpgrade(port, '/ws', {
      'Sec-WebSocket-Protocol': SUBPROTOCOL,
      Origin: 'https://evil.example.com',
    });
    expect(refused.status).toBe(403);
    expect(refused.body).toContain('https://evil.example.com');
    await open(url, { origin: 'https://app.example.com' });
    await open(url); // no Origin header: a non-browser client
  });
});

describe('authentication', () => {
  it('passes the request and the token (Bearer header, ?token=, auth subprotocol) to the hook', async () => {
    const seen: Array<{ token: string | undefined; ua: string | undefined; path: string }> = [];
    const { url, endpoint } = await setup({
      authenticate: (ctx: AuthContext) => {
        seen.push({ token: ctx.token, ua: ctx.request.headers['user-agent'], path: ctx.path });
        return { user: `user-${ctx.token}`, data: { role: 'tester' } };
      },
    });
    await open(url, { headers: { Authorization: 'Bearer from-header', 'User-Agent': 'raw-test' } });
    await open(`${url}?token=from-query`);
    await open(url, { protocols: [SUBPROTOCOL, authSubprotocol('from-subprotocol ✓')] });
    expect(seen.map((s) => s.token)).toEqual(['from-header', 'from-query', 'from-subprotocol ✓']);
    expect(seen[0]).toMatchObject({ ua: 'raw-test', path: '/ws' });
    const users = [...endpoint.connections.values()].map((c) => c.user).sort();
    expect(users).toEqual(['user-from-header', 'user-from-query', 'user-from-subprotocol ✓']);
    expect([...endpoint.connections.values()][0]?.data).toEqual({ role: 'tester' });
  });

  it('refuses with goodbye then close 4001 when the hook says no (async)', async () => {
    const closes: CloseEvent[] = [];
    const { url, endpoint } = await setup({
      authenticate: async ({ token }) => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        return token === 'good';
      },
    });
    endpoint.on('close', (e) => closes.push(e));
    const c = await open(`${url}?token=bad`);
    const closed = await c.waitClosed();
    expect(closed).toEqual({ code: 4001, reason: 'unauthorized' });
    expect(c.frames).toEqual([{ t: 'goodbye', code: 4001, reason: 'unauthorized' }]);
    await until(() => closes.length === 1, 'close event');
    expect(closes[0]).toMatchObject({ code: 4001, initiatedBy: 'server', clean: true });
    expect(endpoint.stats().refused.unauthorized).toBe(1);
    await open(`${url}?token=good`);
  });

  it('refuses with goodbye then close 4003 and the reason of an AuthError', async () => {
    const { url, endpoint } = await setup({
      authenticate: () => {
        throw new AuthError('forbidden', 'not in the admins group');
      },
    });
    const c = await open(url);
    expect(await c.waitClosed()).toEqual({ code: 4003, reason: 'not in the admins group' });
    expect(c.frames[0]).toEqual({ t: 'goodbye', code: 4003, reason: 'not in the admins group' });
    expect(endpoint.stats().refused.forbidden).toBe(1);
  });

  it('closes with 1011 when the hook fails unexpectedly, without leaking the error', async () => {
    const { url } = await setup({
      authenticate: async () => {
        throw new Error('ldap connection string: secret');
      },
    });
    const c = await open(url);
    const closed = await c.waitClosed();
    expect(closed.code).toBe(1011);
    expect(closed.reason).not.toContain('secret');
  });

  it('closes with 4000 when the hook does not answer within handshakeTimeoutMs', async () => {
    const { url, endpoint } = await setup({
      handshakeTimeoutMs: 100,
      authenticate: () => new Promise<boolean>(() => {}),
    });
    const c = await open(url);
    expect((await c.waitClosed()).code).toBe(4000);
    expect(endpoint.stats().refused.authTimeout).toBe(1);
    expect(endpoint.stats().pendingHandshakes).toBe(0);
  });
});

describe('handshake timeout', () => {
  it('closes a client that upgrades but never says hello with goodbye + 4000', async () => {
    const { url, endpoint } = await setup({ handshakeTimeoutMs: 150 });
    const closes: CloseEvent[] = [];
    endpoint.on('close', (e) => closes.push(e));
    const c = await open(url);
    const closed = await c.waitClosed();
    expect(closed.code).toBe(4000);
    expect(c.frames[0]).toMatchObject({ t: 'goodbye', code: 4000 });
    await until(() => closes.length === 1, 'close event');
    expect(closes[0]).toMatchObject({ code: 4000, initiatedBy: 'server' });
    expect(endpoint.stats().handshakeTimeouts).toBe(1);
  });

  it('keeps a client that said hello in time, long past the deadline (ManualClock)', async () => {
    // Time moves only when the test says: a slow machine cannot make the hello late.
    const clock = new ManualClock();
    // 200 ms: the sweep ticks every 50 ms (a quarter), so the deadline falls on a tick.
    const { url, endpoint } = await setup({ handshakeTimeoutMs: 200 }, { clock });
    const c = await RawClient.connect(url);
    server.keep(c);
    const late = await RawClient.open(url);
    server.keep(late);
    clock.advance(199);
    expect(endpoint.stats().handshakeTimeouts).toBe(0);
    clock.advance(1);
    expect(endpoint.stats().handshakeTimeouts).toBe(1);
    // The one that never said hello is closed at the deadline, the other stays.
    expect((await late.waitClosed()).code).toBe(4000);
    clock.advance(10_000);
    c.sendJson({ t: 'ping', ts: clock.now() });
    await c.next((f) => f.t === 'pong');
    expect(endpoint.stats().handshakeTimeouts).toBe(1);
    expect(c.ws.readyState).toBe(c.ws.OPEN);
  });
});

describe('per-IP connection cap', () => {
  it('refuses the connection over the cap with 429 and Retry-After, and frees the slot on close', async () => {
    const { url, port, endpoint } = await setup({ maxConnectionsPerIp: 3 });
    const three = await Promise.all([open(url), open(url), open(url)]);
    const refused = await rawUpgrade(port, '/ws');
    expect(refused.status).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(endpoint.stats().refused.perIp).toBe(1);
    three[0]?.close();
    await until(() => endpoint.connections.size === 2, 'slot freed');
    await open(url);
  });
});

describe('client IP', () => {
  it('uses the socket address by default and X-Forwarded-For only from a trusted proxy', async () => {
    const headers = { 'X-Forwarded-For': '203.0.113.7, 10.0.0.1' };
    const plain = await setup({ maxConnectionsPerIp: 1 });
    const a = await open(plain.url, { headers });
    expect([...plain.endpoint.connections.values()][0]?.ip).toBe('127.0.0.1');
    a.close();
    await plain.tether.close();
    const started = await server.start(
      { maxConnectionsPerIp: 1 },
      { trustProxy: ['127.0.0.1', '10.0.0.0/8'] },
    );
    await open(started.url, { headers });
    expect([...started.endpoint.connections.values()][0]?.ip).toBe('203.0.113.7');
    // The cap counts the forwarded address: another client behind the same proxy is its own IP.
    await open(started.url, { headers: { 'X-Forwarded-For': '198.51.100.2' } });
    const refused = await rawUpgrade(started.port, '/ws', {
      'Sec-WebSocket-Protocol': SUBPROTOCOL,
      'X-Forwarded-For': '203.0.113.7',
    });
    expect(refused.status).toBe(429);
  });

  it('holds the per-IP cap against 300 forged X-Forwarded-For entries behind a trusted proxy', async () => {
    const cap = 5;
    const started = await server.start(
      { maxConnectionsPerIp: cap },
      { trustProxy: ['127.0.0.1/32', '::1'] },
    );
    const real = '198.51.100.9';
    const forged = (i: number): string =>
      [`${i % 256}.${(i * 7) % 256}.1.${i % 200}`, `client-${i}`, `[::${i.toString(16)}]`][
        i % 3
      ] as string;
    let refused = 0;
    // The client forges the leftmost entry; our proxy (127.0.0.1) appended the real address.
    for (let i = 0; i < cap; i++) {
      await open(started.url, { headers: { 'X-Forwarded-For': `${forged(i)}, ${real}` } });
    }
    for (let i = cap; i < 300; i++) {
      const answer = await rawUpgrade(started.port, '/ws', {
        'Sec-WebSocket-Protocol': SUBPROTOCOL,
        'X-Forwarded-For': `${forged(i)}, ${real}`,
      });
      if (answer.status === 429) refused++;
    }
    expect(refused).toBe(300 - cap);
    const ips = [...started.endpoint.connections.values()].map((c) => c.ip);
    expect(ips).toEqual(Array(cap).fill(real));
  });

  it('never records a non-IP X-Forwarded-For value as the address', async () => {
    const started = await server.start({}, { trustProxy: ['127.0.0.1'] });
    for (const value of ['evil<script>', 'unknown', '203.0.113.7, _obfuscated', 'example.com']) {
      const c = await open(started.url, { headers: { 'X-Forwarded-For': value } });
      const ips = [...started.endpoint.connections.values()].map((x) => x.ip);
      expect(ips, value).toEqual(['127.0.0.1']);
      c.close();
      await until(() => started.endpoint.connections.size === 0, 'closed');
    }
  });
});
