/**
 * Finding 8 of issue 9: an open connection must not outlive its token. The authenticate
 * hook may give the connection an expiry; the server asks for a fresh token (`refresh`)
 * before it, accepts one in an `auth` frame (`authed`), refuses a bad one (AUTH_FAILED)
 * and closes with 4002 once the token expired unrefreshed. The ManualClock drives the
 * timing; one test uses the real clock to measure how late the close comes.
 */
import { ManualClock } from '@tether/common';
import { authSubprotocol, CloseCode, SUBPROTOCOL } from '@tether/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { AuthError, type AuthResult, type EndpointOptions, SERVER_DEFAULTS } from '../src/index.js';
import { resolveEndpointOptions } from '../src/options.js';
import { EXPIRY_PASS_GAP_MS, refreshAtFor, TokenExpiryWatch } from '../src/token-expiry.js';
import { type AnyFrame, RawClient, type Started, startTether } from './helpers.js';

let started: Started | undefined;
const clients: RawClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await started?.tether.close({ drainTimeoutMs: 0 });
  started = undefined;
});

/**
 * Tokens of the form `user:lifetimeMs` (or `bad`), valid from the moment they are checked;
 * `lifetimeMs` 0 means no expiry.
 */
function tokenHook(clock: { now(): number }): NonNullable<EndpointOptions['authenticate']> {
  return ({ token }): AuthResult => {
    if (token === undefined || token === 'bad') throw new AuthError('unauthorized', 'bad token');
    const [user = '', life = '0'] = token.split(':');
    const lifetime = Number(life);
    return lifetime === 0 ? { user } : { user, expiresAt: clock.now() + lifetime };
  };
}

async function connect(url: string, token: string): Promise<RawClient> {
  const client = await RawClient.connect(url, {
    protocols: [SUBPROTOCOL, authSubprotocol(token)],
  });
  clients.push(client);
  return client;
}

/** A ping round trip: every frame the server queued before it has arrived. */
let pingId = 0;
async function roundTrip(client: RawClient, clock: { now(): number }): Promise<AnyFrame[]> {
  pingId += 1;
  const ts = clock.now() + pingId;
  client.sendJson({ t: 'ping', ts });
  await client.next((f) => f.t === 'pong' && f.ts === ts);
  return client.frames;
}

const refreshes = (frames: AnyFrame[]) => frames.filter((f) => f.t === 'refresh');

describe('token expiry on open connections', () => {
  it('computes the refresh time: the lead, but never more than half the remaining lifetime', () => {
    expect(refreshAtFor(1_000_000 + 3_600_000, 1_000_000, 30_000)).toBe(1_000_000 + 3_570_000);
    expect(refreshAtFor(1_000_000 + 5_000, 1_000_000, 30_000)).toBe(1_000_000 + 2_500);
    expect(refreshAtFor(1_000_000 + 60_000, 1_000_000, 30_000)).toBe(1_000_000 + 30_000);
    expect(refreshAtFor(1_000_000, 1_000_000, 30_000)).toBe(1_000_000);
  });

  it('tokenRefreshLeadMs has a default and is validated by name', () => {
    expect(SERVER_DEFAULTS.tokenRefreshLeadMs).toBe(30_000);
    expect(resolveEndpointOptions({}).tokenRefreshLeadMs).toBe(30_000);
    expect(resolveEndpointOptions({ tokenRefreshLeadMs: 0 }).tokenRefreshLeadMs).toBe(0);
    expect(() => resolveEndpointOptions({ tokenRefreshLeadMs: -1 })).toThrow(/tokenRefreshLeadMs/);
    expect(() => resolveEndpointOptions({ tokenRefreshLeadMs: 1.5 })).toThrow(/tokenRefreshLeadMs/);
  });

  it('asks a 5 s token for a fresh one at 2.5 s and closes with 4002 at expiry', async () => {
    const clock = new ManualClock();
    started = await startTether(
      { authenticate: tokenHook(clock), heartbeatIntervalMs: 600_000 },
      { clock },
    );
    const client = await connect(started.url, 'alice:5000');
    const expiresAt = clock.now() + 5_000;
    clock.advance(2_400);
    expect(refreshes(await roundTrip(client, clock))).toEqual([]);
    clock.advance(200);
    const refresh = await client.next((f) => f.t === 'refresh');
    // Sent by the pass at 2.5 s, half the lifetime (the 30 s lead is longer than that).
    expect(refresh).toEqual({ t: 'refresh', exp: expiresAt, within: 2_500 });
    clock.advance(2_300); // 4.9 s: still open
    await roundTrip(client, clock);
    expect(refreshes(client.frames)).toHaveLength(1);
    clock.advance(300); // 5.2 s: past the expiry
    const closed = await client.waitClosed();
    expect(closed.code).toBe(CloseCode.TOKEN_EXPIRED);
    const goodbye = client.frames.find((f) => f.t === 'goodbye');
    expect(goodbye).toMatchObject({ code: 4002, reason: 'token expired' });
  });

  it('a fresh token in an auth frame is acknowledged and extends the connection', async () => {
    const clock = new ManualClock();
    const seen: Array<string | undefined> = [];
    const hook = tokenHook(clock);
    started = await startTether(
      {
        heartbeatIntervalMs: 600_000,
        authenticate: (context) => {
          seen.push(context.token);
          return hook(context);
        },
      },
      { clock },
    );
    const client = await connect(started.url, 'alice:60000');
    clock.advance(30_000);
    await client.next((f) => f.t === 'refresh');
    client.sendJson({ t: 'auth', token: 'alice:100000' });
    const authed = await client.next((f) => f.t === 'authed');
    expect(authed).toEqual({ t: 'authed', exp: clock.now() + 100_000 }); // at 130 s
    expect(seen).toEqual(['alice:60000', 'alice:100000']);
    clock.advance(31_000); // 61 s: past the first token's expiry
    await roundTrip(client, clock);
    expect(client.ws.readyState).toBe(client.ws.OPEN);
    expect(refreshes(client.frames)).toHaveLength(1);
    clock.advance(40_000); // 101 s: the second refresh (30 s before the new expiry)
    await client.next((f) => f.t === 'refresh');
    clock.advance(30_000); // 131 s: the second token expired unrefreshed
    expect((await client.waitClosed()).code).toBe(CloseCode.TOKEN_EXPIRED);
  });

  it('a token without expiry ends the expiry: authed has no exp, nothing closes later', async () => {
    const clock = new ManualClock();
    const day = 86_400_000;
    started = await startTether(
      { authenticate: tokenHook(clock), heartbeatIntervalMs: day, heartbeatTimeoutMs: day },
      { clock },
    );
    const client = await connect(started.url, 'alice:10000');
    client.sendJson({ t: 'auth', token: 'alice:0' });
    expect(await client.next((f) => f.t === 'authed')).toEqual({ t: 'authed' });
    clock.advance(3_600_000);
    await roundTrip(client, clock);
    expect(refreshes(client.frames)).toEqual([]);
    expect(client.ws.readyState).toBe(client.ws.OPEN);
  });

  it('a refused token gets AUTH_FAILED and the old expiry stands', async () => {
    const clock = new ManualClock();
    started = await startTether(
      { authenticate: tokenHook(clock), heartbeatIntervalMs: 600_000 },
      { clock },
    );
    const client = await connect(started.url, 'alice:10000');
    client.sendJson({ t: 'auth', token: 'bad' });
    const error = await client.next((f) => f.t === 'error');
    expect(error).toMatchObject({ code: 'AUTH_FAILED', message: 'bad token', ref: { t: 'auth' } });
    clock.advance(10_200);
    expect((await client.waitClosed()).code).toBe(CloseCode.TOKEN_EXPIRED);
  });

  it('a token that names another user closes the connection with 4001', async () => {
    const clock = new ManualClock();
    started = await startTether(
      { authenticate: tokenHook(clock), heartbeatIntervalMs: 600_000 },
      { clock },
    );
    const client = await connect(started.url, 'alice:10000');
    client.sendJson({ t: 'auth', token: 'mallory:10000' });
    const closed = await client.waitClosed();
    expect(closed.code).toBe(CloseCode.UNAUTHORIZED);
    expect(closed.reason).toContain('another user');
  });

  it('an identity that has expired already is refused at the upgrade with 4001', async () => {
    const clock = new ManualClock();
    started = await startTether(
      { authenticate: () => ({ user: 'a', expiresAt: clock.now() }) },
      {
        clock,
      },
    );
    const client = await RawClient.open(started.url);
    clients.push(client);
    const closed = await client.waitClosed();
    expect(closed).toEqual({ code: CloseCode.UNAUTHORIZED, reason: 'token expired' });
  });

  it('an endpoint without authenticate answers auth with AUTH_FAILED', async () => {
    const clock = new ManualClock();
    started = await startTether({}, { clock });
    const client = await connect(started.url, 'x');
    client.sendJson({ t: 'auth', token: 'anything' });
    const error = await client.next((f) => f.t === 'error');
    expect(error).toMatchObject({ code: 'AUTH_FAILED', ref: { t: 'auth' } });
    expect(client.ws.readyState).toBe(client.ws.OPEN);
  });

  it('real clock: an unrefreshed 5 s token is closed with 4002 within 1 s of its expiry', async () => {
    const clock = { now: () => Date.now() };
    started = await startTether({ authenticate: tokenHook(clock) });
    const client = await connect(started.url, 'alice:5000');
    const expiresAt = (await client.next((f) => f.t === 'refresh')).exp as number;
    const closed = await client.waitClosed(10_000);
    const late = Date.now() - expiresAt;
    expect(closed.code).toBe(CloseCode.TOKEN_EXPIRED);
    expect(late).toBeGreaterThanOrEqual(0);
    expect(late).toBeLessThan(1_000);
  });
});

describe('TokenExpiryWatch', () => {
  it('holds one timer for all connections, acts on each deadline, and none when idle', () => {
    const clock = new ManualClock();
    const actions: string[] = [];
    const watch = new TokenExpiryWatch<Subject>(clock, (s, action) => {
      actions.push(`${s.name}:${action}`);
      if (action === 'refresh') s.refreshAt = undefined;
      else s.state = 'closing';
    });
    const t0 = clock.now();
    const a: Subject = {
      name: 'a',
      state: 'open',
      tokenExpiresAt: t0 + 10_000,
      refreshAt: t0 + 5_000,
    };
    const b: Subject = {
      name: 'b',
      state: 'open',
      tokenExpiresAt: t0 + 4_000,
      refreshAt: t0 + 2_000,
    };
    watch.track(a);
    watch.track(b);
    expect(clock.pending).toBe(1);
    clock.advance(2_000);
    expect(actions).toEqual(['b:refresh']);
    clock.advance(2_000);
    expect(actions).toEqual(['b:refresh', 'b:expire']);
    clock.advance(6_000);
    expect(actions).toEqual(['b:refresh', 'b:expire', 'a:refresh', 'a:expire']);
    expect(watch.size).toBe(0);
    expect(clock.pending).toBe(0);
  });

  it('a thousand deadlines a few ms apart cost a handful of passes, each at most 250 ms late', () => {
    const clock = new ManualClock();
    let passes = 0;
    let lastPassAt = -1;
    const late: number[] = [];
    const watch = new TokenExpiryWatch<Subject>(clock, (s) => {
      if (clock.now() !== lastPassAt) {
        passes += 1;
        lastPassAt = clock.now();
      }
      late.push(clock.now() - (s.tokenExpiresAt as number));
      s.state = 'closing';
    });
    const t0 = clock.now();
    for (let i = 0; i < 1000; i += 1) {
      watch.track({
        name: `c${i}`,
        state: 'open',
        tokenExpiresAt: t0 + 1_000 + i,
        refreshAt: undefined,
      });
    }
    clock.advance(3_000);
    expect(late).toHaveLength(1000);
    expect(Math.max(...late)).toBeLessThanOrEqual(EXPIRY_PASS_GAP_MS);
    expect(passes).toBeLessThanOrEqual(5);
    expect(clock.pending).toBe(0);
  });
});

interface Subject {
  name: string;
  state: string;
  tokenExpiresAt: number | undefined;
  refreshAt: number | undefined;
}
