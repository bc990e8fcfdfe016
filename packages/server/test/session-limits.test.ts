/**
 * Issue 9, what a client can make the server hold through sessions and requests: the
 * resume token rotates on every resume (a copied token works once at most), sessions
 * per user are capped (the oldest is evicted with 4013), and pending requests per
 * connection are capped (TOO_MANY_REQUESTS).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createStore, type Store } from '../src/store/index.js';
import { cut, hello, resumeOf } from './delivery-helpers.js';
import { type RawClient, type Started, startTether, until } from './helpers.js';

let started: Started | undefined;
let store: Store | undefined;
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
  started = undefined;
  store = undefined;
});

describe('resume token rotation', () => {
  it('every resume issues a new token; the old one no longer resumes', async () => {
    const { url, endpoint } = await setup();
    const a = await connect(url);
    const sid = a.welcome.sid as string;
    await cut(a.c);
    await until(() => endpoint.connections.size === 0, 'server saw the cut');

    const b = await connect(url, resumeOf(a.welcome, 0));
    expect(b.welcome).toMatchObject({ resumed: true, sid });
    expect(typeof b.welcome.token).toBe('string');
    expect(b.welcome.token).not.toBe(a.welcome.token);
    await cut(b.c);
    await until(() => endpoint.connections.size === 0, 'server saw the second cut');

    // Replaying the first token (a copy taken from a log, a stolen backup) fails.
    const replay = await connect(url, resumeOf(a.welcome, 0));
    expect(replay.welcome).toMatchObject({ resumed: false, reason: 'invalid' });
    expect(replay.welcome.sid).not.toBe(sid);

    // The newest token still resumes, and rotates again.
    const c = await connect(url, resumeOf(b.welcome, 0));
    expect(c.welcome).toMatchObject({ resumed: true, sid });
    expect(c.welcome.token).not.toBe(b.welcome.token);
    expect(c.welcome.token).not.toBe(a.welcome.token);
  });
});
