import { describe, expect, it } from 'vitest';
import { HUB_DEFAULTS, TopicAccess, topicMatches } from '../src/index.js';
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

async function subscribe(c: RawClient, topic: string): Promise<string> {
  c.send({ t: 'sub', topic });
  const answer = await c.frame(
    (f) =>
      (f.t === 'subscribed' && f.topic === topic) ||
      (f.t === 'error' && (f.ref as { topic?: string })?.topic === topic),
    `answer to sub ${topic}`,
  );
  return answer.t === 'error' ? String(answer.code) : String(answer.t);
}

let nextId = 1;
async function publish(c: RawClient, topic: string): Promise<string> {
  const id = nextId++;
  c.send({ t: 'publish', topic, data: { id }, id });
  const answer = await c.frame(
    (f) =>
      (f.t === 'published' || f.t === 'error') &&
      (f.id === id || (f.ref as { id?: number })?.id === id),
    `answer to publish ${id}`,
  );
  return answer.t === 'error' ? String(answer.code) : String(answer.t);
}

const jwt = (user: string, topics?: { publish?: string[]; subscribe?: string[] }) =>
  ({ auth: 'jwt', user, ...(topics === undefined ? {} : { topics }) }) as const;

describe('topic access: fail closed', () => {
  it('refuses a topic that matches no namespace, for every kind of connection', () => {
    const access = new TopicAccess({ 'demo:*': { publish: 'anyone', subscribe: 'anyone' } });
    for (const auth of [
      { auth: 'insecure' } as const,
      { auth: 'anonymous' } as const,
      jwt('alice'),
      jwt('alice', { publish: ['*'], subscribe: ['*'] }),
    ]) {
      expect(access.allows('subscribe', 'other', auth), auth.auth).toBe(false);
      expect(access.allows('publish', 'other', auth), auth.auth).toBe(false);
      expect(access.allows('subscribe', 'demo:chat', auth), auth.auth).toBe(true);
    }
    expect(access.ruleFor('other')).toBeUndefined();
    const none = new TopicAccess({});
    expect(none.allows('publish', 't', { auth: 'insecure' })).toBe(false);
  });

  it('allows unmatched topics only through an explicit catch-all "*"', () => {
    const access = new TopicAccess(
      { '*': { publish: 'authenticated', subscribe: 'authenticated' } },
      { topicsClaim: 'optional' },
    );
    expect(access.allows('publish', 'anything', { auth: 'insecure' })).toBe(true);
    expect(access.allows('subscribe', 'anything', jwt('alice'))).toBe(true);
    expect(access.allows('subscribe', 'anything', { auth: 'anonymous' })).toBe(false);
  });

  it('ends prefixes at a segment boundary (:, / and .)', () => {
    expect(topicMatches('user:alice*', 'user:alice')).toBe(true);
    expect(topicMatches('user:alice*', 'user:alice:inbox')).toBe(true);
    expect(topicMatches('user:alice*', 'user:alice/inbox')).toBe(true);
    expect(topicMatches('user:alice*', 'user:alice.inbox')).toBe(true);
    expect(topicMatches('user:alice*', 'user:alicebob')).toBe(false);
    expect(topicMatches('user:alice*', 'user:alice-2')).toBe(false);
    expect(topicMatches('room:*', 'room:a')).toBe(true);
    expect(topicMatches('room:*', 'roomy')).toBe(false);
    expect(topicMatches('*', 'x')).toBe(true);
    // A claim `user:alice*` does not grant `user:alicebob`; a rule `demo*` not `demonstration`.
    const access = new TopicAccess({ 'user:*': { publish: 'none', subscribe: 'authenticated' } });
    const alice = jwt('alice', { subscribe: ['user:alice*'] });
    expect(access.allows('subscribe', 'user:alice:inbox', alice)).toBe(true);
    expect(access.allows('subscribe', 'user:alicebob', alice)).toBe(false);
    const demo = new TopicAccess({ 'demo*': { publish: 'anyone', subscribe: 'anyone' } });
    expect(demo.allows('subscribe', 'demo:chat', { auth: 'anonymous' })).toBe(true);
    expect(demo.allows('subscribe', 'demonstration', { auth: 'anonymous' })).toBe(false);
  });

  it('gives each user only their own {sub} topics', () => {
    const access = new TopicAccess({
      'user:{sub}': { publish: 'none', subscribe: 'authenticated' },
      'inbox:{sub}:*': { publish: 'authenticated', subscribe: 'authenticated' },
      'home/{sub}*': { publish: 'authenticated', subscribe: 'authenticated' },
    });
    const alice = jwt('alice');
    expect(access.allows('subscribe', 'user:alice', alice)).toBe(true);
    expect(access.allows('publish', 'user:alice', alice)).toBe(false);
    expect(access.allows('subscribe', 'user:bob', alice)).toBe(false);
    expect(access.allows('subscribe', 'user:alice:x', alice)).toBe(false);
    expect(access.allows('publish', 'inbox:alice:1', alice)).toBe(true);
    expect(access.allows('publish', 'inbox:alicebob:1', alice)).toBe(false);
    expect(access.allows('subscribe', 'home/alice', alice)).toBe(true);
    expect(access.allows('subscribe', 'home/alice/lights', alice)).toBe(true);
    expect(access.allows('subscribe', 'home/alicebob', alice)).toBe(false);
    // A user id with a separator matches no {sub} topic: "alice:x" cannot reach alice's.
    expect(access.allows('subscribe', 'inbox:alice:x', jwt('alice:x'))).toBe(false);
    expect(access.allows('subscribe', 'user:alice:x', jwt('alice:x'))).toBe(false);
    // Without a user (anonymous, insecure) no {sub} namespace applies.
    expect(access.allows('subscribe', 'user:alice', { auth: 'insecure' })).toBe(false);
    expect(access.allows('subscribe', 'user:alice', { auth: 'anonymous' })).toBe(false);
    // A claim still narrows: a token whose claim leaves out its own topic does not get it.
    expect(access.allows('subscribe', 'user:alice', jwt('alice', { subscribe: ['room:*'] }))).toBe(
      false,
    );
    // The store asks without a user: any one segment finds the namespace's history.
    expect(access.ruleFor('user:zoe')).toEqual({ publish: 'none', subscribe: 'authenticated' });
  });

  it('a token without a topics claim gets its own topics and anyone topics, not every authenticated namespace', () => {
    const rules = {
      'room:*': { publish: 'authenticated', subscribe: 'authenticated' },
      'user:{sub}': { publish: 'none', subscribe: 'authenticated' },
      'news:*': { publish: 'none', subscribe: 'anyone' },
    } as const;
    const strict = new TopicAccess(rules);
    const bob = jwt('bob');
    expect(strict.allows('subscribe', 'room:a', bob)).toBe(false);
    expect(strict.allows('publish', 'room:a', bob)).toBe(false);
    expect(strict.allows('subscribe', 'user:bob', bob)).toBe(true);
    expect(strict.allows('subscribe', 'news:today', bob)).toBe(true);
    expect(strict.allows('subscribe', 'room:a', jwt('bob', { subscribe: ['room:*'] }))).toBe(true);
    const open = new TopicAccess(rules, { topicsClaim: 'optional' });
    expect(open.allows('subscribe', 'room:a', bob)).toBe(true);
    expect(open.allows('subscribe', 'user:alice', bob)).toBe(false);
  });
});

describe('topic access on a running hub', () => {
  it('JWT hub: unmatched topics, other users, prefix tricks and claimless tokens are FORBIDDEN', async () => {
    const { hub } = await startTestHub({
      auth: { mode: 'jwt', secret: JWT_SECRET },
      topics: {
        'room:*': { publish: 'authenticated', subscribe: 'authenticated' },
        'user:{sub}*': { publish: 'authenticated', subscribe: 'authenticated' },
      },
    });
    const bob = rawClient(hub, await hs256({ sub: 'bob' }));
    const alice = rawClient(
      hub,
      await hs256({
        sub: 'alice',
        topics: { subscribe: ['user:alice*', 'room:*'], publish: ['user:alice*'] },
      }),
    );
    await welcomed(bob);
    await welcomed(alice);
    expect(await subscribe(bob, 'user:bob')).toBe('subscribed');
    expect(await publish(bob, 'user:bob:notes')).toBe('published');
    expect(await subscribe(bob, 'user:alice')).toBe('FORBIDDEN');
    expect(await subscribe(bob, 'room:a')).toBe('FORBIDDEN');
    expect(await subscribe(bob, 'elsewhere')).toBe('FORBIDDEN');
    expect(await publish(bob, 'elsewhere')).toBe('FORBIDDEN');
    expect(await subscribe(alice, 'room:a')).toBe('subscribed');
    expect(await subscribe(alice, 'user:alice:inbox')).toBe('subscribed');
    expect(await subscribe(alice, 'user:alicebob')).toBe('FORBIDDEN');
    expect(await publish(alice, 'user:alicebob')).toBe('FORBIDDEN');
  });

  it('default insecure hub: the demo topic works, topics outside every namespace do not', async () => {
    const { hub } = await startTestHub({ auth: { mode: 'none' }, topics: HUB_DEFAULTS.topics });
    const dev = rawClient(hub);
    await welcomed(dev);
    expect(await subscribe(dev, 'demo:chat')).toBe('subscribed');
    expect(await publish(dev, 'demo:chat')).toBe('published');
    expect(await subscribe(dev, 'news')).toBe('FORBIDDEN');
    expect(await publish(dev, 'news')).toBe('FORBIDDEN');
  });
});
