/**
 * A reliable message the server refuses for good (`error` with `final: true`): that
 * `send()` rejects with the server's code and message, and the session goes on. Also the
 * other additive answers of an application hook: `welcome.data` and a rewritten publish.
 */
import { ReplyError } from '@tether/server';
import { withTimeout } from '@tether/testkit';
import { describe, expect, it } from 'vitest';
import { useRealSetup } from './helpers/real-setup.js';

const { client, server } = useRealSetup(
  { minReconnectDelayMs: 50, maxReconnectDelayMs: 200 },
  1000,
);

describe('final refusals', () => {
  it('rejects the refused send() with code and message; the next messages go through', async () => {
    const s = await server();
    const handled: unknown[] = [];
    s.endpoint.onMessage((data) => {
      if ((data as { n: number }).n === 2) throw new ReplyError('REJECTED', 'two is not allowed');
      handled.push(data);
    });
    const c = client(s.url);
    await c.connect();
    const sends = [1, 2, 3].map((n) => c.send({ n }));
    const outcomes = await withTimeout(Promise.allSettled(sends), 10_000, 'the sends');
    expect(outcomes[0]).toEqual({ status: 'fulfilled', value: undefined });
    expect(outcomes[1]).toMatchObject({
      status: 'rejected',
      reason: { code: 'REJECTED', message: 'two is not allowed' },
    });
    expect(outcomes[2]).toEqual({ status: 'fulfilled', value: undefined });
    expect(handled).toEqual([{ n: 1 }, { n: 3 }]);
    expect(c.stats().queued).toBe(0);
  });

  it('without a message handler: send() rejects NO_HANDLER and a reliable request after it is answered', async () => {
    const s = await server();
    const c = client(s.url);
    await c.connect();
    await expect(withTimeout(c.send({ text: 'hello' }), 10_000, 'send')).rejects.toMatchObject({
      code: 'NO_HANDLER',
    });
    await expect(
      withTimeout(c.request('echo', { x: 1 }, { reliable: true }), 10_000, 'request'),
    ).resolves.toEqual({ x: 1 });
    await expect(
      withTimeout(c.request('missing', null, { reliable: true }), 10_000, 'request'),
    ).rejects.toMatchObject({ code: 'NO_HANDLER' });
    await expect(withTimeout(c.send({ text: 'again' }), 10_000, 'send')).rejects.toMatchObject({
      code: 'NO_HANDLER',
    });
    expect(c.stats().queued).toBe(0);
  });

  it('hands the welcome data of authenticate to the open event', async () => {
    const s = await server({ authenticate: () => ({ user: 'u1', welcome: { plan: 'pro' } }) });
    const c = client(s.url);
    const opened = new Promise((resolve) => c.on('open', (e) => resolve(e.welcomeData)));
    await c.connect();
    expect(await withTimeout(opened, 5_000, 'open')).toEqual({ plan: 'pro' });
  });

  it('publishes what authorizePublish rewrote, and refuses with its reason', async () => {
    const s = await server({
      authorizePublish: ({ data }) => {
        const text = (data as { text: string }).text;
        return text === 'bad' ? { refuse: 'no bad words' } : { data: { text: text.toUpperCase() } };
      },
    });
    const c = client(s.url);
    await c.connect();
    const sub = c.subscribe('room');
    const it = sub[Symbol.asyncIterator]();
    await c.publish('room', { text: 'hi' });
    await expect(c.publish('room', { text: 'bad' })).rejects.toMatchObject({
      code: 'FORBIDDEN',
      message: 'no bad words',
    });
    const first = await withTimeout(it.next(), 5_000, 'the publication');
    expect(first.value).toMatchObject({ data: { text: 'HI' } });
  });
});
