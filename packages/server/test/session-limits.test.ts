/**
 * Issue 9, what a client can make the server hold through sessions and requests: the
 * resume token rotates on every resume (a copied token works once at most), sessions
 * per user are capped (the oldest is evicted with 4013), and pending requests per
 * connection are capped (TOO_MANY_REQUESTS).
 */
import { join } from 'node:path';
import { SqliteStore } from '@tether/store-sqlite';
import { type TempDir, tempDir } from '@tether/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { SERVER_DEFAULTS } from '../src/index.js';
import { createStore, type Store } from '../src/store/index.js';
import { cut, hello, resumeOf } from './delivery-helpers.js';
import { type RawClient, type Started, startTether, until } from './helpers.js';

let started: Started | undefined;
let store: Store | undefined;
let dir: TempDir | undefined;
const clients: RawClient[] = [];

async function setup(
  options: Parameters<typeof startTether>[0] = {},
  storeSpec?: Parameters<typeof createStore>[0],
): Promise<Started> {
  if (storeSpec !== undefined) store = createStore(storeSpec);
  started = await startTether(options, store === undefined ? {} : { store });
  return started;
}

async function connect(url: string, resume?: Parameters<typeof hello>[1]) {
  const h = await hello(url, resume);
  clients.push(h.c);
  return h;
}

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await started?.tether.close({ drainTimeoutMs: 500 });
  await store?.close();
  await dir?.cleanup();
  started = undefined;
  store = undefined;
  dir = undefined;
});

/** The user is the `?u=` query parameter; without it the connection is anonymous. */
const byQuery = {
  authenticate: ({ request }: { request: { url?: string } }) => {
    const user = new URL(request.url ?? '/', 'http://x').searchParams.get('u');
    return user === null ? true : { user };
  },
};

/**
 * Opens `count` sessions of `user` one after another (hello, welcome, terminate), a few
 * at a time, as a client that reloads or a token holder that churns would.
 */
async function churn(url: string, user: string, count: number): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      next += 1;
      const { c } = await hello(`${url}?u=${user}`);
      await cut(c);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
}

describe('resume token rotation', () => {
  it('every resume issues a new token; the one resumed with dies once the new one is used', async () => {
    const { url, endpoint } = await setup();
    const a = await connect(url);
    const sid = a.welcome.sid as string;
    const gone = async (client: { c: Parameters<typeof cut>[0] }, what: string) => {
      await cut(client.c);
      await until(() => endpoint.connections.size === 0, what);
    };
    await gone(a, 'server saw the first cut');

    const b = await connect(url, resumeOf(a.welcome, 0));
    expect(b.welcome).toMatchObject({ resumed: true, sid });
    expect(typeof b.welcome.token).toBe('string');
    expect(b.welcome.token).not.toBe(a.welcome.token);
    await gone(b, 'server saw the second cut');

    // The welcome with b's token may have been lost with its connection: the token the
    // client resumed with still resumes, so a lost welcome never costs the session.
    const lost = await connect(url, resumeOf(a.welcome, 0));
    expect(lost.welcome).toMatchObject({ resumed: true, sid });
    expect(lost.welcome.token).not.toBe(b.welcome.token);
    await gone(lost, 'server saw the third cut');

    // The client resumes with its newest token: every older one dies.
    const c = await connect(url, resumeOf(lost.welcome, 0));
    expect(c.welcome).toMatchObject({ resumed: true, sid });
    await gone(c, 'server saw the fourth cut');
    for (const old of [a, b]) {
      // Replaying an older token (a copy taken from a log, a stolen backup) fails.
      const replay = await connect(url, resumeOf(old.welcome, 0));
      expect(replay.welcome).toMatchObject({ resumed: false, reason: 'invalid' });
      expect(replay.welcome.sid).not.toBe(sid);
      await gone(replay, 'server saw the replay end');
    }

    // The newest token still resumes, and rotates again.
    const d = await connect(url, resumeOf(c.welcome, 0));
    expect(d.welcome).toMatchObject({ resumed: true, sid });
    expect(d.welcome.token).not.toBe(c.welcome.token);
  });
});

describe('sessions per user', () => {
  const payload = { text: 'x'.repeat(30_000) };

  for (const kind of ['memory', 'sqlite'] as const) {
    it(`5,000 churned sessions of one user: sendToUser stores at most the cap (${kind})`, async () => {
      let spec: Parameters<typeof createStore>[0] = { kind: 'memory', sweepIntervalMs: 0 };
      if (kind === 'sqlite') {
        dir = await tempDir('tether-sessions-');
        spec = new SqliteStore({ path: join(dir.path, 'hub.db'), sweepIntervalMs: 0 });
      }
      const { url, endpoint } = await setup(byQuery, spec);
      const cap = SERVER_DEFAULTS.maxSessionsPerUser;
      await churn(url, 'alice', 5_000);
      const s = store as Store;
      const before = await s.stats();
      const results = await endpoint.sendToUser('alice', payload);
      expect(results.length).toBeGreaterThan(0);
      expect(results.length).toBeLessThanOrEqual(cap);
      expect((await s.sessionsOfUser('alice')).length).toBeLessThanOrEqual(cap);
      const after = await s.stats();
      expect(after.sessions).toBeLessThanOrEqual(cap);
      expect(after.sessionMessages - before.sessionMessages).toBeLessThanOrEqual(cap);
    }, 60_000);
  }

  it('evicts the oldest disconnected session first, its stored messages with it', async () => {
    const { url, endpoint } = await setup(
      { ...byQuery, maxSessionsPerUser: 2 },
      { kind: 'memory' },
    );
    const live = await connect(`${url}?u=alice`);
    const away = await connect(`${url}?u=alice`);
    const awaySid = away.welcome.sid as string;
    await cut(away.c);
    await until(() => endpoint.connections.size === 1, 'server saw the cut');
    await endpoint.sendTo(awaySid, 'kept for a resume');
    expect((await (store as Store).stats()).sessionMessages).toBe(1);

    const third = await connect(`${url}?u=alice`);
    // The older but connected session stays; the disconnected one is gone with its log.
    expect(await (store as Store).getSession(awaySid)).toBeUndefined();
    expect((await (store as Store).stats()).sessionMessages).toBe(0);
    expect(live.c.ws.readyState).toBe(live.c.ws.OPEN);
    const sids = (await (store as Store).sessionsOfUser('alice')).map((r) => r.sid);
    expect(sids.sort()).toEqual([live.welcome.sid, third.welcome.sid].sort());
    // Its resume is refused explicitly, with a new session.
    const back = await connect(`${url}?u=alice`, resumeOf(away.welcome, 0));
    expect(back.welcome).toMatchObject({ resumed: false, reason: 'unknown' });
  });

  it('evicts the oldest connected session with goodbye + 4013 when all are connected', async () => {
    const { url, endpoint } = await setup(
      { ...byQuery, maxSessionsPerUser: 2 },
      { kind: 'memory' },
    );
    const first = await connect(`${url}?u=alice`);
    // "Oldest" is by creation time in ms: two sessions made within one millisecond are
    // equally old and either may go, so the second is made in a later millisecond.
    const madeAt = Date.now();
    await until(() => Date.now() > madeAt, 'the next millisecond');
    const second = await connect(`${url}?u=alice`);
    await endpoint.sendTo(first.welcome.sid as string, 'unacked');
    await first.c.next((f) => f.t === 'msg');
    const third = await connect(`${url}?u=alice`);
    expect(await first.c.next((f) => f.t === 'goodbye')).toMatchObject({ code: 4013 });
    expect((await first.c.waitClosed()).code).toBe(4013);
    expect(await (store as Store).getSession(first.welcome.sid as string)).toBeUndefined();
    expect((await (store as Store).stats()).sessionMessages).toBe(0);
    await expect(endpoint.sendTo(first.welcome.sid as string, 1)).rejects.toMatchObject({
      code: 'SESSION_NOT_FOUND',
    });
    // The others are untouched and reachable.
    const results = await endpoint.sendToUser('alice', 'hi');
    expect(results.map((r) => r.sessionId).sort()).toEqual(
      [second.welcome.sid, third.welcome.sid].sort(),
    );
    expect(await second.c.next((f) => f.t === 'msg')).toMatchObject({ data: 'hi' });
    // A resume of the evicted session starts a new one, explicitly.
    const back = await connect(`${url}?u=alice`, resumeOf(first.welcome, 1));
    expect(back.welcome).toMatchObject({ resumed: false, reason: 'unknown' });
  });

  it('does not cap anonymous connections or other users', async () => {
    const { url } = await setup({ ...byQuery, maxSessionsPerUser: 1 }, { kind: 'memory' });
    const anonymous = [await connect(url), await connect(url), await connect(url)];
    const bob = await connect(`${url}?u=bob`);
    const alice = await connect(`${url}?u=alice`);
    await connect(`${url}?u=alice`);
    expect((await alice.c.waitClosed()).code).toBe(4013);
    for (const a of [...anonymous, bob]) expect(a.c.ws.readyState).toBe(a.c.ws.OPEN);
  });

  it('releases an evicted connection whose client stopped reading: socket and subscriptions', async () => {
    const { url, tether, endpoint } = await setup(
      { ...byQuery, maxSessionsPerUser: 1, authorizePublish: () => true, closeGraceMs: 200 },
      { kind: 'memory' },
    );
    // A backlog the paused client never reads: its close handshake cannot complete.
    const big = 'x'.repeat(60_000);
    for (let i = 0; i < 200; i += 1) await tether.publish('feed', big);
    const stalled = await connect(`${url}?u=alice`);
    stalled.c.sendJson({ t: 'sub', topic: 'feed', last: 200 });
    await until(() => tether.stats().topics.subscriptions === 1, 'the subscription');
    stalled.c.ws.pause();
    await connect(`${url}?u=alice`);
    // The evicted one is closed as it would be after closeGraceMs, reading or not.
    await until(
      () => endpoint.connections.size === 1 && tether.stats().topics.subscriptions === 0,
      `the evicted connection released (connections ${endpoint.connections.size}, subscriptions ${tether.stats().topics.subscriptions})`,
      10_000,
    );
  });

  it('rejects a bad maxSessionsPerUser naming it', async () => {
    const { tether } = await setup();
    expect(() => tether.endpoint('/bad', { maxSessionsPerUser: 0 })).toThrow(/maxSessionsPerUser/);
    expect(() => tether.endpoint('/bad', { maxSessionsPerUser: 1.5 })).toThrow(
      /maxSessionsPerUser/,
    );
  });
});

describe('pending requests per connection', () => {
  /** A handler that answers only when the test releases it. */
  function held() {
    const waiting: Array<() => void> = [];
    return {
      handler: () =>
        new Promise<string>((resolve) => {
          waiting.push(() => resolve('done'));
        }),
      get count() {
        return waiting.length;
      },
      release: () => {
        for (const r of waiting.splice(0)) r();
      },
    };
  }

  it('a req beyond maxPendingRequests gets TOO_MANY_REQUESTS; the connection and the others go on', async () => {
    const slow = held();
    const { url, endpoint } = await setup({ maxPendingRequests: 5 });
    endpoint.handle('slow', slow.handler);
    endpoint.handle('echo', (data) => data ?? null);
    const { c } = await connect(url);
    for (let id = 1; id <= 5; id += 1) c.sendJson({ t: 'req', id, method: 'slow' });
    await until(() => slow.count === 5, 'five requests running');
    const refused = await c.request('echo', 'one too many', 6);
    expect(refused).toMatchObject({ ok: false, error: { code: 'TOO_MANY_REQUESTS' } });
    expect(String((refused.error as { message: string }).message)).toMatch(/5/);
    expect(slow.count).toBe(5);

    slow.release();
    for (let id = 1; id <= 5; id += 1) {
      expect(await c.next((f) => f.t === 'res' && f.id === id)).toMatchObject({
        ok: true,
        data: 'done',
      });
    }
    // Room again: the connection is open and requests run.
    expect(await c.request('echo', 'again', 7)).toMatchObject({ ok: true, data: 'again' });
    expect(c.ws.readyState).toBe(c.ws.OPEN);
  });

  it('reliable requests waiting their turn count; a refused one is not processed or acked', async () => {
    const slow = held();
    const { url, endpoint } = await setup({ maxPendingRequests: 2 });
    let ran = 0;
    endpoint.handle('slow', () => {
      ran += 1;
      return slow.handler();
    });
    const { c } = await connect(url);
    // seq 1 runs, seq 2 waits its turn behind it, seq 3 is one too many.
    for (let seq = 1; seq <= 3; seq += 1) c.sendJson({ t: 'req', id: seq, method: 'slow', seq });
    const refused = await c.next((f) => f.t === 'res' && f.id === 3);
    expect(refused).toMatchObject({ ok: false, error: { code: 'TOO_MANY_REQUESTS' } });
    slow.release();
    await c.next((f) => f.t === 'res' && f.id === 1);
    await until(() => slow.count === 1, 'seq 2 running');
    slow.release();
    await c.next((f) => f.t === 'res' && f.id === 2);
    // A reply goes out when its handler answers, before its ack (issue 13): seq 1 may be
    // acked on its own. What matters: the acks reach 2 and never the refused 3.
    await c.next((f) => f.t === 'ack' && f.seq === 2);
    expect(c.frames.filter((f) => f.t === 'ack').map((f) => f.seq as number)).not.toContain(3);
    // Sent again, seq 3 runs now: it was never claimed.
    c.sendJson({ t: 'req', id: 3, method: 'slow', seq: 3 });
    await until(() => slow.count === 1, 'seq 3 running');
    slow.release();
    expect(await c.next((f) => f.t === 'res' && f.id === 3)).toMatchObject({ ok: true });
    expect(ran).toBe(3);
  });

  it('rejects a bad maxPendingRequests naming it', async () => {
    const { tether } = await setup();
    expect(() => tether.endpoint('/bad', { maxPendingRequests: 0 })).toThrow(/maxPendingRequests/);
  });
});
