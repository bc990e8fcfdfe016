/**
 * Issue 9, finding 8, at the hub with real JWTs: a token must carry `exp` (unless
 * `auth.requireExp` is off) and live at most `auth.maxTokenLifetimeMs`; an open
 * connection is asked for a fresh token before its token expires and closed with 4002 if
 * none comes, while a client whose provider mints new tokens stays connected for good.
 */
import { TetherClient } from '@tether/client';
import { paced, waitFor } from '@tether/testkit';
import { type JWTPayload, SignJWT } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import {
  closeClients,
  closeHubs,
  HOST,
  JWT_SECRET,
  rawClient,
  startTestHub,
} from './hub-helpers.js';

const key = new TextEncoder().encode(JWT_SECRET);
const tetherClients: TetherClient[] = [];

afterEach(async () => {
  await Promise.all(tetherClients.splice(0).map((c) => c.close()));
  await closeClients();
  await closeHubs();
});

/** An HS256 token; `exp`/`iat` in seconds, each left out when undefined. */
function sign(claims: JWTPayload): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(key);
}

const nowS = () => Math.floor(Date.now() / 1000);

describe('hub JWT lifetime', () => {
  it('refuses a token without exp with 4001 by default, and accepts it with auth.requireExp off', async () => {
    const token = await sign({ sub: 'alice', iat: nowS() });
    const strict = (await startTestHub({ auth: { mode: 'jwt', secret: JWT_SECRET } })).hub;
    const refused = rawClient(strict, token);
    expect(await refused.closed).toEqual({
      code: 4001,
      reason: 'token has no "exp" claim (required: auth.requireExp)',
    });

    const { hub: lax, io } = await startTestHub({
      auth: { mode: 'jwt', secret: JWT_SECRET, requireExp: false },
    });
    expect(io.err).toContain(
      'tether: WARNING: auth.requireExp is off: tokens without "exp" authenticate their connections forever; development only',
    );
    const accepted = rawClient(lax, token);
    await accepted.frame((f) => f.t === 'welcome', 'welcome');
    expect(accepted.frames.some((f) => f.t === 'refresh')).toBe(false);
  });

  it('refuses a token that lives longer than auth.maxTokenLifetimeMs, from iat or else from now', async () => {
    const { hub } = await startTestHub({
      auth: { mode: 'jwt', secret: JWT_SECRET, maxTokenLifetimeMs: 3_600_000 },
    });
    const now = nowS();
    const tooLong = [
      await sign({ sub: 'a', iat: now - 60, exp: now + 3_600 }), // 1 h 1 min from iat
      await sign({ sub: 'a', exp: now + 7_200 }), // no iat: 2 h from now
    ];
    for (const token of tooLong) {
      expect(await rawClient(hub, token).closed).toEqual({
        code: 4001,
        reason: 'token lifetime exceeds auth.maxTokenLifetimeMs (1h)',
      });
    }
    const fine = [
      await sign({ sub: 'a', iat: now, exp: now + 3_600 }),
      await sign({ sub: 'a', exp: now + 3_000 }),
    ];
    for (const token of fine) {
      await rawClient(hub, token).frame((f) => f.t === 'welcome', 'welcome');
    }
  });

  it('an unrefreshed 5 s token is asked for a fresh one, then closed with 4002 within 1 s of expiry', async () => {
    const { hub } = await startTestHub({
      auth: { mode: 'jwt', secret: JWT_SECRET, clockToleranceMs: 0 },
    });
    const exp = nowS() + 5;
    const client = rawClient(hub, await sign({ sub: 'alice', iat: nowS(), exp }));
    await client.frame((f) => f.t === 'welcome', 'welcome');
    const refresh = await client.frame((f) => f.t === 'refresh', 'refresh', 10_000);
    expect(refresh.exp).toBe(exp * 1000);
    const { code } = await client.closed;
    const late = Date.now() - exp * 1000;
    expect(code).toBe(4002);
    expect(late).toBeGreaterThanOrEqual(0);
    expect(late).toBeLessThan(1_000);
  }, 15_000);

  it('the expiry of a connection includes auth.clockToleranceMs, like the check of the token', async () => {
    const { hub } = await startTestHub({ auth: { mode: 'jwt', secret: JWT_SECRET } });
    const exp = nowS() + 20;
    const client = rawClient(hub, await sign({ sub: 'alice', exp }));
    await client.frame((f) => f.t === 'welcome', 'welcome');
    client.send({ t: 'auth', token: await sign({ sub: 'alice', exp: exp + 40 }) });
    const authed = await client.frame((f) => f.t === 'authed', 'authed');
    expect(authed.exp).toBe((exp + 40) * 1000 + 5_000);
    client.send({ t: 'auth', token: await sign({ sub: 'mallory', exp }) });
    expect(await client.closed).toEqual({
      code: 4001,
      reason: 'the refreshed token names another user',
    });
  });

  it('a client whose provider mints new tokens stays open for a minute across three expiries, losing nothing', async () => {
    const { hub } = await startTestHub({
      auth: { mode: 'jwt', secret: JWT_SECRET, clockToleranceMs: 0 },
    });
    const LIFETIME_S = 18;
    const minted: number[] = [];
    const client = new TetherClient(`ws://${HOST}:${hub.port}/ws`, {
      WebSocket: WebSocket as never,
      token: async () => {
        const exp = nowS() + LIFETIME_S;
        minted.push(exp);
        // Topics fail closed: the token names the one it reads.
        return sign({ sub: 'alice', iat: nowS(), exp, topics: { subscribe: ['demo:audit'] } });
      },
    });
    tetherClients.push(client);
    const opened: number[] = [];
    const received: number[] = [];
    let subscribed = false;
    client.on('open', () => opened.push(Date.now()));
    client.on('subscribed', () => {
      subscribed = true;
    });
    client.on('pub', (event) => received.push(event.data as number));
    await client.connect();
    client.subscribe('demo:audit');
    await waitFor(() => subscribed, { message: 'subscribed' });

    // A numbered stream for the whole minute, while the tokens expire and are replaced
    // underneath it: time passing is what this test is about, so one publication per
    // 500 ms tick (bounded: at most 120, and no longer than the minute).
    const started = Date.now();
    const sent = await paced(
      { intervalMs: 500, maxSteps: 120, until: () => Date.now() - started >= 60_000 },
      (n) => hub.tether.publish('demo:audit', n).then(() => undefined),
    );
    await waitFor(() => received.length >= sent, { message: 'every publication arrived' });

    const expiredTokens = minted.filter((exp) => exp * 1000 < Date.now());
    expect(expiredTokens.length).toBeGreaterThanOrEqual(3);
    expect(opened).toHaveLength(1); // never reconnected
    expect(client.state).toBe('open');
    expect(received).toEqual(Array.from({ length: sent }, (_, i) => i + 1));
  }, 90_000);
});
