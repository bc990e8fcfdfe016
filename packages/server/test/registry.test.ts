import { describe, expect, it } from 'vitest';
import type { CloseEvent, Logger } from '../src/index.js';
import { RawClient, serverPerTest, until } from './helpers.js';

const server = serverPerTest();

interface LogEntry {
  level: 'debug' | 'info' | 'warn' | 'error';
  context: object;
  message: string;
}

function capturingLogger(entries: LogEntry[], bindings: object = {}): Logger {
  const log =
    (level: LogEntry['level']) =>
    (context: object, message: string): void => {
      entries.push({ level, context: { ...bindings, ...context }, message });
    };
  return {
    debug: log('debug'),
    info: log('info'),
    warn: log('warn'),
    error: log('error'),
    child: (more) => capturingLogger(entries, { ...bindings, ...more }),
  };
}

describe('connection registry', () => {
  it('gives connection, message and request handlers a connection with its session id', async () => {
    const started = await server.start();
    const { endpoint, url } = started;
    // Typed `string`, not `string | undefined`: these run only after welcome. The
    // assignments are the compile-time half of this test.
    const seen: string[] = [];
    endpoint.on('connection', (connection) => {
      const sid: string = connection.sessionId;
      seen.push(`connection ${sid}`);
    });
    endpoint.on('message', ({ connection }) => {
      const sid: string = connection.sessionId;
      seen.push(`message ${sid}`);
    });
    endpoint.handle('whoami', (_data, { connection }) => {
      const sid: string = connection.sessionId;
      return sid;
    });
    const c = await RawClient.connect(url);
    server.keep(c);
    const sid = c.frames.find((f) => f.t === 'welcome')?.sid as string;
    expect(sid).toEqual(expect.any(String));
    c.sendJson({ t: 'msg', data: 'hi' });
    const reply = await c.request('whoami', null, 1);
    expect(reply).toMatchObject({ ok: true, data: sid });
    await until(() => seen.length === 2, 'connection and message events');
    expect(seen).toEqual([`connection ${sid}`, `message ${sid}`]);
  });

  it('keeps metadata and counters per connection', async () => {
    const started = await server.start({ authenticate: () => ({ user: 'alice' }) });
    const { endpoint, url } = started;
    endpoint.handle('echo', (data) => data ?? null);
    const before = Date.now();
    const c = await RawClient.connect(url);
    server.keep(c);
    await c.request('echo', 'abc', 1);
    c.sendJson({ t: 'pong', ts: Date.now() - 5, rts: Date.now() });
    c.sendJson({ t: 'nope' });
    await c.next((f) => f.t === 'error');
    const conn = endpoint.connections.get(c.frames[0]?.cid as string);
    expect(conn).toBeDefined();
    await until(() => conn?.rttMs !== undefined, 'rtt from the app pong');
    const info = conn?.info();
    expect(info).toMatchObject({
      path: '/ws',
      ip: '127.0.0.1',
      user: 'alice',
      state: 'open',
      sessionId: c.frames[0]?.sid,
      messagesIn: 4, // hello, req, pong, nope
      messagesOut: 3, // welcome, res, error
      errors: 1,
    });
    expect(info?.connectedAt).toBeGreaterThanOrEqual(before - 1000);
    expect(info?.lastSeenAt).toBeGreaterThanOrEqual(info?.connectedAt ?? 0);
    expect(info?.bytesIn).toBeGreaterThan(40);
    expect(info?.bytesOut).toBeGreaterThan(200);
    expect(info?.rttMs).toBeGreaterThanOrEqual(0);
  });

  it('counts bytesOut as the exact UTF-8 bytes of every message written', async () => {
    const started = await server.start();
    const { endpoint, url } = started;
    endpoint.onMessage(() => undefined);
    const c = await RawClient.connect(url);
    server.keep(c);
    const conn = endpoint.connections.get(c.frames[0]?.cid as string);
    // One tick: three frames (non-ASCII data among them) leave as one batch.
    conn?.send({ text: 'grüße, 世界' });
    conn?.send('plain');
    conn?.send(['é', 1]);
    await c.next((f) => f.t === 'msg' && Array.isArray(f.data));
    // A reliable message: its ack is added to the queue when it is written.
    c.sendJson({ t: 'msg', seq: 1, data: 'x' });
    await c.next((f) => f.t === 'ack');
    const written = c.messages.reduce((sum, m) => sum + Buffer.byteLength(m), 0);
    expect(c.messages.some((m) => m.startsWith('['))).toBe(true);
    expect(conn?.info().bytesOut).toBe(written);
  });

  it('emits close with code, reason, clean and who started it', async () => {
    const started = await server.start();
    const { endpoint, url } = started;
    const closes: CloseEvent[] = [];
    endpoint.on('close', (e) => closes.push(e));
    const polite = await RawClient.connect(url);
    polite.ws.close(1000, 'done');
    await until(() => closes.length === 1, 'first close');
    expect(closes[0]).toMatchObject({
      code: 1000,
      reason: 'done',
      clean: true,
      initiatedBy: 'client',
    });
    const dropped = await RawClient.connect(url);
    dropped.ws.terminate();
    await until(() => closes.length === 2, 'second close');
    expect(closes[1]).toMatchObject({ code: 1006, clean: false, initiatedBy: 'client' });
    const kicked = await RawClient.connect(url);
    server.keep(kicked);
    [...endpoint.connections.values()][0]?.close(4010, 'replaced', 0);
    expect(await kicked.waitClosed()).toEqual({ code: 4010, reason: 'replaced' });
    expect(kicked.frames.at(-1)).toEqual({
      t: 'goodbye',
      code: 4010,
      reason: 'replaced',
      retryAfter: 0,
    });
    await until(() => closes.length === 3, 'third close');
    expect(closes[2]).toMatchObject({ code: 4010, clean: true, initiatedBy: 'server' });
    expect(endpoint.stats().closes).toEqual({ '1000': 1, '1006': 1, '4010': 1 });
    expect(endpoint.connections.size).toBe(0);
  });

  it('gives a stats snapshot per endpoint and for the server', async () => {
    const started = await server.start();
    const { endpoint, url, tether } = started;
    const second = tether.endpoint('/other');
    const a = await RawClient.connect(url);
    const b = await RawClient.open(url); // upgraded, no hello yet
    server.keep(a, b);
    await until(() => endpoint.connections.size === 2, 'two sockets');
    const stats = endpoint.stats();
    expect(stats).toMatchObject({
      path: '/ws',
      connections: 2,
      ready: 1,
      accepted: 2,
      draining: false,
    });
    expect(stats.messagesIn).toBe(1);
    const all = tether.stats();
    expect(all.state).toBe('running');
    expect(all.connections).toBe(2);
    expect(all.endpoints.map((e) => e.path)).toEqual(['/ws', '/other']);
    expect(second.stats().connections).toBe(0);
  });

  it('rejects a close code a server may not send', async () => {
    const started = await server.start();
    const c = await RawClient.connect(started.url);
    server.keep(c);
    const conn = [...started.endpoint.connections.values()][0];
    expect(() => conn?.close(1006)).toThrow(RangeError);
  });
});

describe('logging', () => {
  it('logs normal closes at debug, abnormal ones at info, faults at error, and never tokens or bodies', async () => {
    const entries: LogEntry[] = [];
    const started = await server.start(
      { authenticate: () => true },
      { logger: capturingLogger(entries) },
    );
    const { endpoint, url } = started;
    endpoint.handle('explode', () => {
      throw new Error('handler blew up');
    });
    const normal = await RawClient.connect(`${url}?token=TOKEN-SECRET-1`, {
      headers: { Authorization: 'Bearer TOKEN-SECRET-2' },
    });
    normal.sendJson({ t: 'msg', data: 'BODY-SECRET' });
    await normal.next((f) => f.t === 'error');
    await normal.request('explode', 'BODY-SECRET-2', 1);
    normal.ws.close(1000);
    await normal.waitClosed();
    const dropped = await RawClient.connect(url);
    dropped.ws.terminate();
    await until(
      () => entries.filter((e) => e.message.startsWith('connection closed')).length === 2,
      'two closes',
    );

    const closeLevels = entries
      .filter((e) => e.message.startsWith('connection closed'))
      .map((e) => e.level);
    expect(closeLevels).toEqual(['debug', 'info']);
    expect(entries.some((e) => e.level === 'error' && e.message === 'request handler failed')).toBe(
      true,
    );
    const all = JSON.stringify(entries);
    expect(all).not.toContain('TOKEN-SECRET');
    expect(all).not.toContain('BODY-SECRET');
    expect(
      entries.every(
        (e) =>
          (e.context as { endpoint?: string }).endpoint === '/ws' ||
          e.message !== 'connection closed',
      ),
    ).toBe(true);
  });
});
