/**
 * "Lose nothing" end to end: the real client against the real server through
 * a fault proxy that cuts connections. Every message is numbered; each test
 * compares what arrived with the exact expected sequence (no gap, no
 * duplicate, no reorder). Counts are modest: these run on shared CPUs.
 */

import { MemoryStore } from '@tether/server';
import { SqliteStore } from '@tether/store-sqlite';
import { createFaultProxy, type FaultProxy, tempDir, waitFor } from '@tether/testkit';
import { describe, expect, it } from 'vitest';
import type { GapEvent, SessionEvent, TetherClient } from '../src/index.js';
import { HOST, type RunningServer } from './helpers/real-server.js';
import { useRealSetup } from './helpers/real-setup.js';

const { client, defer, server } = useRealSetup(
  { minReconnectDelayMs: 20, maxReconnectDelayMs: 100, breakerThreshold: 0 },
  500,
);

const range = (from: number, to: number): number[] =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

async function proxyTo(s: RunningServer): Promise<FaultProxy & { url: string }> {
  const proxy = await createFaultProxy({ target: { host: HOST, port: s.port } });
  defer(() => proxy.close());
  return Object.assign(proxy, { url: `ws://${HOST}:${proxy.port}/ws` });
}

/**
 * Cuts the client's connection once it is open again (a cut while it is still
 * reconnecting would cut nothing); returns 1 when a connection was cut.
 */
async function cutWhenOpen(c: TetherClient, proxy: FaultProxy, cutsSoFar: number): Promise<number> {
  // `connects` counts welcomes: the first plus one per earlier cut.
  await waitFor(() => c.stats().connects > cutsSoFar && c.state === 'open', {
    timeoutMs: 10_000,
    message: `reconnected after cut ${cutsSoFar}`,
  });
  return proxy.resetAll() > 0 ? 1 : 0;
}

function sessionsOf(c: TetherClient): SessionEvent[] {
  const seen: SessionEvent[] = [];
  c.on('session', (e) => seen.push(e));
  return seen;
}

describe('direct messages end to end', () => {
  it('server -> client: every message once and in order through connection cuts', async () => {
    const s = await server();
    const proxy = await proxyTo(s);
    const c = client(proxy.url);
    const sessions = sessionsOf(c);
    const got: unknown[] = [];
    c.on('message', (m) => got.push(m.data));
    await c.connect();
    const sid = c.sessionId as string;
    let cuts = 0;
    for (let n = 1; n <= 300; n++) {
      await s.endpoint.sendTo(sid, n);
      if (n % 50 === 25) cuts += await cutWhenOpen(c, proxy, cuts);
    }
    await s.endpoint.sendTo(sid, 'end');
    await waitFor(() => got.at(-1) === 'end', { timeoutMs: 20_000, message: 'all messages' });
    expect(got).toEqual([...range(1, 300), 'end']);
    expect(cuts).toBeGreaterThanOrEqual(5);
    // Every reconnect resumed the same session: nothing was lost, nothing needed resending.
    expect(sessions.filter((e) => !e.resumed)).toHaveLength(1);
    expect(c.sessionId).toBe(sid);
  });

  it('client -> server: each message handled once and in order through connection cuts', async () => {
    const s = await server();
    const proxy = await proxyTo(s);
    const seen: number[] = [];
    s.endpoint.onMessage((data) => {
      seen.push(data as number);
    });
    const c = client(proxy.url);
    await c.connect();
    const sends: Promise<void>[] = [];
    for (let n = 1; n <= 300; n++) {
      sends.push(c.send(n));
      if (n % 50 === 0) {
        await waitFor(() => seen.length >= n - 25, {
          timeoutMs: 10_000,
          message: `handled ${n - 25}`,
        });
        proxy.resetAll();
      }
    }
    await Promise.all(sends);
    expect(seen).toEqual(range(1, 300));
    expect(c.stats().queued).toBe(0);
  });

  it('a reliable request survives a cut and runs once; a lost reply says processed', async () => {
    const s = await server();
    const proxy = await proxyTo(s);
    let runs = 0;
    s.endpoint.handle('once', () => {
      runs += 1;
      proxy.resetAll(); // the reply is lost with the connection
      return 'done';
    });
    const c = client(proxy.url);
    await c.connect();
    const err = await c.request('once', null, { reliable: true }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'CONNECTION_LOST', processed: true });
    // Queued while cut: resent after the reconnect and answered.
    proxy.resetAll();
    await expect(c.request('echo', 7, { reliable: true })).resolves.toBe(7);
    expect(runs).toBe(1);
  });

  it('a resume after the window expired is never silent: resumed false, pending messages resent', async () => {
    // The test owns the store, so it can see when the server expired the session.
    const store = new MemoryStore();
    defer(() => store.close());
    const s = await server({ resumeWindowMs: 50 }, 0, { store });
    const proxy = await proxyTo(s);
    const seen: unknown[] = [];
    s.endpoint.onMessage((data) => {
      seen.push(data);
    });
    const c = client(proxy.url, { minReconnectDelayMs: 400, maxReconnectDelayMs: 400 });
    const sessions = sessionsOf(c);
    await c.connect();
    const first = c.sessionId;
    proxy.refuseConnections(true);
    proxy.resetAll();
    await waitFor(() => c.state === 'reconnecting', { message: 'client noticed the cut' });
    const pending = c.send('queued while away');
    // Stay away until the server's record says the window has passed (or the sweep removed it).
    await waitFor(
      async () => {
        const record = await store.getSession(first as string);
        return record === undefined || (record.expiresAt !== null && record.expiresAt < Date.now());
      },
      { timeoutMs: 10_000, message: 'the session expired on the server' },
    );
    proxy.refuseConnections(false);
    await waitFor(() => sessions.length >= 2, { timeoutMs: 10_000, message: 'second welcome' });
    const lost = sessions[1] as SessionEvent;
    expect(lost).toMatchObject({ resumed: false, previousSessionId: first });
    expect(['expired', 'unknown']).toContain(lost.reason);
    expect(lost.resent).toEqual([
      {
        seq: 1,
        previousSeq: 1,
        data: 'queued while away',
        method: undefined,
        maybeProcessed: false,
      },
    ]);
    await pending;
    expect(seen).toEqual(['queued while away']);
  });
});

describe('topics end to end', () => {
  it('each publication once and in order through cuts; resubscribes from its position', async () => {
    const s = await server();
    const proxy = await proxyTo(s);
    const c = client(proxy.url);
    const sub = c.subscribe('prices');
    const got: unknown[] = [];
    const gaps: GapEvent[] = [];
    sub.on('pub', (p) => got.push(p.data));
    sub.on('gap', (g) => gaps.push(g));
    await sub.ready();
    let cuts = 0;
    for (let n = 1; n <= 300; n++) {
      await s.endpoint.publish('prices', n);
      if (n % 50 === 25) cuts += await cutWhenOpen(c, proxy, cuts);
    }
    await s.endpoint.publish('prices', 'end');
    await waitFor(() => got.at(-1) === 'end', { timeoutMs: 20_000, message: 'all publications' });
    expect(got).toEqual([...range(1, 300), 'end']);
    expect(gaps).toEqual([]);
    expect(cuts).toBeGreaterThanOrEqual(5);
    expect(sub.position?.offset).toBe(301);
  });

  it('last N, then live; from a trimmed position a gap with the positions', async () => {
    const s = await server({}, 0, { store: { kind: 'memory', historyMaxCount: 5 } });
    let epoch = '';
    for (let n = 1; n <= 20; n++) epoch = (await s.endpoint.publish('news', n)).epoch;
    const c = client(s.url);
    const lastThree = c.subscribe('news', { last: 3 });
    const got: unknown[] = [];
    lastThree.on('pub', (p) => got.push(p.data));
    await lastThree.ready();
    await s.endpoint.publish('news', 21);
    await waitFor(() => got.length >= 4, { message: 'replay and live' });
    expect(got).toEqual([18, 19, 20, 21]);
    await lastThree.unsubscribe();

    const late = c.subscribe('news', { from: { epoch, offset: 2 } });
    const items: Array<number | GapEvent> = [];
    late.on('pub', (p) => items.push(p.data as number));
    late.on('gap', (g) => items.push(g));
    await late.ready();
    await waitFor(() => items.length >= 6, { message: 'gap and the retained history' });
    expect(items).toEqual([
      {
        type: 'gap',
        topic: 'news',
        recovered: false,
        reason: 'trimmed',
        from: { epoch, offset: 2 },
        next: { epoch, offset: 17 },
        missed: 14,
      },
      17,
      18,
      19,
      20,
      21,
    ]);
  });

  it('publish from the client: the position on success, FORBIDDEN where the hook refuses', async () => {
    const s = await server({ authorizePublish: ({ topic }) => topic !== 'locked' });
    const c = client(s.url);
    const sub = c.subscribe('open');
    const own: unknown[] = [];
    sub.on('pub', (p) => own.push(p.data));
    await sub.ready();
    const first = await c.publish('open', 'hello');
    const second = await c.publish('open', 'again');
    expect(second).toEqual({ epoch: first.epoch, offset: first.offset + 1 });
    await expect(c.publish('locked', 'x')).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await waitFor(() => own.length >= 2, { message: 'own publications' });
    expect(own).toEqual(['hello', 'again']);
  });
});

describe('durable store end to end', () => {
  it('a server restart on sqlite: the same session resumes, messages and publications continue exactly', async () => {
    const dir = await tempDir('tether-client-');
    defer(() => dir.cleanup());
    // Each server gets its own connection to the file; the test owns and closes them.
    const store = (): SqliteStore => {
      const opened = new SqliteStore({ path: `${dir.path}/db` });
      defer(() => opened.close());
      return opened;
    };
    let s = await server({}, 0, { store: store() });
    const port = s.port;
    const c = client(s.url);
    const sessions = sessionsOf(c);
    const messages: unknown[] = [];
    c.on('message', (m) => messages.push(m.data));
    const sub = c.subscribe('feed');
    const pubs: unknown[] = [];
    const gaps: GapEvent[] = [];
    sub.on('pub', (p) => pubs.push(p.data));
    sub.on('gap', (g) => gaps.push(g));
    await sub.ready();
    const sid = c.sessionId as string;
    for (let n = 1; n <= 50; n++) {
      await s.endpoint.sendTo(sid, n);
      await s.endpoint.publish('feed', n);
    }
    await waitFor(() => messages.length >= 20, { message: 'some delivered before the crash' });
    await s.kill(); // sockets destroyed, no goodbye: the client sees 1006
    s = await server({}, port, { store: store() });
    for (let n = 51; n <= 100; n++) {
      await s.endpoint.sendTo(sid, n);
      await s.endpoint.publish('feed', n);
    }
    await waitFor(() => messages.at(-1) === 100 && pubs.at(-1) === 100, {
      timeoutMs: 20_000,
      message: 'everything after the restart',
    });
    expect(messages).toEqual(range(1, 100));
    expect(pubs).toEqual(range(1, 100));
    expect(gaps).toEqual([]);
    expect(sessions.map((e) => e.resumed)).toEqual([false, true]);
    expect(c.sessionId).toBe(sid);
  });
});
