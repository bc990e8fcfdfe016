/**
 * What the server's application hooks may answer besides yes and no, end to end: data
 * for the client's `welcome` from `authenticate`, and a topic authorizer's `{ data }`
 * (publish this instead) or `{ refuse: reason }` (FORBIDDEN with that reason), for plain
 * and reliable publishes alike. (Final refusals of messages: final-answers-e2e.test.ts.)
 */
import { withTimeout } from '@tether/testkit';
import { describe, expect, it } from 'vitest';
import { useRealSetup } from './helpers/real-setup.js';

const { client, server } = useRealSetup(
  { minReconnectDelayMs: 50, maxReconnectDelayMs: 200 },
  1000,
);

/** Uppercases a publication's text; refuses "bad". */
function authorizePublish({ data }: { data?: unknown }) {
  const text = (data as { text: string }).text;
  return text === 'bad' ? { refuse: 'no bad words' } : { data: { text: text.toUpperCase() } };
}

describe('answers of application hooks', () => {
  it('hands the welcome data of authenticate to the open event', async () => {
    const s = await server({ authenticate: () => ({ user: 'u1', welcome: { plan: 'pro' } }) });
    const c = client(s.url);
    const opened = new Promise((resolve) => c.on('open', (e) => resolve(e.welcomeData)));
    await c.connect();
    expect(await withTimeout(opened, 5_000, 'open')).toEqual({ plan: 'pro' });
  });

  it.each([
    ['plain', false],
    ['reliable', true],
  ])(
    'publishes what authorizePublish rewrote, and refuses with its reason (%s)',
    async (_, reliable) => {
      const s = await server({ authorizePublish });
      const c = client(s.url);
      await c.connect();
      const sub = c.subscribe('room');
      await sub.ready();
      const it = sub[Symbol.asyncIterator]();
      await c.publish('room', { text: 'hi' }, { reliable });
      await expect(c.publish('room', { text: 'bad' }, { reliable })).rejects.toMatchObject({
        code: 'FORBIDDEN',
        message: 'no bad words',
      });
      const first = await withTimeout(it.next(), 5_000, 'the publication');
      expect(first.value).toMatchObject({ data: { text: 'HI' } });
      expect(c.stats().queued).toBe(0);
    },
  );
});
