import { exportSPKI, generateKeyPair, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { TopicAccess } from '../src/index.js';
import {
  cleanUpAfterEach,
  hs256,
  JWT_SECRET,
  type RawClient,
  rawClient,
  startTestHub,
  welcomed,
} from './hub-helpers.js';

cleanUpAfterEach();

/** The goodbye and the close of a refused connection. */
async function refusal(
  client: RawClient,
): Promise<{ code: number; reason: string; goodbye: unknown }> {
  const { code, reason } = await client.closed;
  return { code, reason, goodbye: client.frames.find((f) => f.t === 'goodbye')?.reason };
}

const TOPICS = {
  'news:*': { publish: 'none', subscribe: 'anyone' },
  'room:*': { publish: 'authenticated', subscribe: 'authenticated' },
} as const;

describe('hub auth: JWT (HS256)', () => {
  it('accepts a valid token (sub = user) and refuses bad ones with 4001 and the reason, serving the others', async () => {
    const { hub } = await startTestHub({ auth: { mode: 'jwt', secret: JWT_SECRET } });
    const alice = rawClient(hub, await hs256({ sub: 'alice' }));
    await welcomed(alice);
    const [connection] = [...hub.endpoint.connections.values()];
    expect(connection?.user).toBe('alice');

    const cases: Array<[string | undefined, string]> = [
      [
        await hs256({ sub: 'bob' }, { expiresIn: Math.floor(Date.now() / 1000) - 60 }),
        'token expired',
      ],
      [
        await hs256({ sub: 'bob' }, { key: new TextEncoder().encode('x'.repeat(32)) }),
        'token signature invalid',
      ],
      ['not-a-jwt', 'malformed token (not a signed JWT)'],
      [
        undefined,
        'missing token (send it as Authorization: Bearer, ?token= or the tether.auth subprotocol)',
      ],
      [await hs256({ name: 'no sub' }), 'token has no "sub" claim (the user id)'],
      [
        await hs256({ sub: 'bob', topics: { publish: 'room:*' } }),
        'token claim "topics" must be { "publish": [patterns], "subscribe": [patterns] }',
      ],
    ];
    for (const [token, reason] of cases) {
      const bad = rawClient(hub, token);
      expect(await refusal(bad)).toEqual({ code: 4001, reason, goodbye: reason });
    }

    // Alice was never disturbed: she still gets answers.
    alice.send({ t: 'ping', ts: 1 });
    await alice.frame((f) => f.t === 'pong' && f.ts === 1, 'pong');
    expect(alice.ws.readyState).toBe(alice.ws.OPEN);
    // The refusals are listed for the dashboard.
    const errors = hub.sampler.report().errors;
    expect(errors.filter((e) => e.kind === 'auth').map((e) => e.message)).toContain(
      'token expired',
    );
  });

  it('enforces topic namespaces and the token topics claim', async () => {
    const { hub } = await startTestHub({
      auth: { mode: 'jwt', secret: JWT_SECRET, anonymous: true },
      topics: TOPICS,
    });
    const claims = { publish: ['room:a'], subscribe: ['room:*'] };
    const carol = rawClient(hub, await hs256({ sub: 'carol', topics: claims }));
    const anon = rawClient(hub);
    await welcomed(carol);
    await welcomed(anon);

    const subscribe = async (c: RawClient, topic: string) => {
      c.send({ t: 'sub', topic });
      return c.frame(
        (f) =>
          (f.t === 'subscribed' && f.topic === topic) ||
          (f.t === 'error' && (f.ref as { topic?: string })?.topic === topic),
        `answer to sub ${topic}`,
      );
    };
    const publish = async (c: RawClient, topic: string, id: number) => {
      c.send({ t: 'publish', topic, data: { id }, id });
      return c.frame(
        (f) =>
          (f.t === 'published' || f.t === 'error') &&
          (f.id === id || (f.ref as { id?: number })?.id === id),
        `answer to publish ${id}`,
      );
    };

    expect((await subscribe(carol, 'room:b')).t).toBe('subscribed');
    expect((await subscribe(carol, 'news:today')).t).toBe('subscribed');
    expect(await subscribe(carol, 'other')).toMatchObject({ t: 'error', code: 'FORBIDDEN' });
    expect((await publish(carol, 'room:a', 1)).t).toBe('published');
    expect(await publish(carol, 'room:b', 2)).toMatchObject({ t: 'error', code: 'FORBIDDEN' });
    expect(await publish(carol, 'news:today', 3)).toMatchObject({ t: 'error', code: 'FORBIDDEN' });

    // Anonymous: only what `anyone` allows.
    expect((await subscribe(anon, 'news:today')).t).toBe('subscribed');
    expect(await subscribe(anon, 'room:b')).toMatchObject({ t: 'error', code: 'FORBIDDEN' });
    expect(await publish(anon, 'room:a', 4)).toMatchObject({ t: 'error', code: 'FORBIDDEN' });
  });
});

describe('hub auth: JWT with a public key', () => {
  it('verifies RS256 tokens and refuses tokens of another algorithm', async () => {
    const { publicKey, privateKey } = await generateKeyPair('RS256');
    const pem = await exportSPKI(publicKey);
    const { hub } = await startTestHub({
      auth: { mode: 'jwt', publicKey: pem, algorithm: 'RS256' },
    });
    const good = await new SignJWT({ sub: 'dave' })
      .setProtectedHeader({ alg: 'RS256' })
      .setExpirationTime('1m')
      .sign(privateKey);
    const dave = rawClient(hub, good);
    await welcomed(dave);
    const forged = rawClient(hub, await hs256({ sub: 'mallory' }));
    expect(await refusal(forged)).toMatchObject({
      code: 4001,
      reason: 'token algorithm not allowed',
    });
  });

  it('fails at start with a clear error for a key that is not a public key', async () => {
    await expect(
      startTestHub({
        auth: {
          mode: 'jwt',
          publicKey: '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----',
          algorithm: 'ES256',
        },
      }),
    ).rejects.toThrow(/^auth\.publicKey: not a usable ES256 public key/);
  });
});

describe('topic access rules', () => {
  it('picks the most specific namespace: exact, then the longest prefix, then *', () => {
    const access = new TopicAccess({
      '*': { publish: 'none', subscribe: 'anyone' },
      'a:*': { publish: 'anyone', subscribe: 'none' },
      'a:b:*': { publish: 'none', subscribe: 'anyone' },
      'a:b:c': { publish: 'anyone', subscribe: 'anyone' },
    });
    expect(access.ruleFor('x')).toEqual({ publish: 'none', subscribe: 'anyone' });
    expect(access.ruleFor('a:x')).toEqual({ publish: 'anyone', subscribe: 'none' });
    expect(access.ruleFor('a:b:x')).toEqual({ publish: 'none', subscribe: 'anyone' });
    expect(access.ruleFor('a:b:c')).toEqual({ publish: 'anyone', subscribe: 'anyone' });
    // The catch-all decides topics no other namespace matches (without it they are refused:
    // see topic-access.test.ts); the token's claim narrows `authenticated`.
    const all = new TopicAccess({ '*': { publish: 'authenticated', subscribe: 'authenticated' } });
    expect(all.allows('publish', 't', { auth: 'anonymous' })).toBe(false);
    expect(all.allows('publish', 't', { auth: 'insecure' })).toBe(true);
    expect(all.allows('publish', 't', { auth: 'jwt', topics: { subscribe: ['t'] } })).toBe(false);
    expect(all.allows('subscribe', 't', { auth: 'jwt', topics: { subscribe: ['t'] } })).toBe(true);
  });
});
