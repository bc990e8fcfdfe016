/**
 * `hello.maxMessageBytes`: a constrained client (a MicroPython-class device) states the
 * largest WebSocket message it accepts, and the server never sends a larger one: batches
 * and replays are cut to fit, and a single frame that cannot fit is replaced by a small
 * answer that says so (docs/protocol.md, "Limits"). Every message is measured in UTF-8
 * bytes as it arrives.
 */
import { Buffer } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { type AnyFrame, RawClient, serverPerTest } from './helpers.js';

const LIMIT = 4096;
const server = serverPerTest();

async function constrained(url: string, limit = LIMIT): Promise<RawClient> {
  const client = await RawClient.open(url);
  server.keep(client);
  client.sendJson({ t: 'hello', v: 1, maxMessageBytes: limit });
  await client.next((f) => f.t === 'welcome');
  return client;
}

function largestMessage(client: RawClient): number {
  return Math.max(...client.messages.map((m) => Buffer.byteLength(m)));
}

describe('hello.maxMessageBytes', () => {
  it('a client stating 4 KiB never gets a larger message, also in a replay of 1,000 publications', async () => {
    const started = await server.start();
    const { endpoint } = started;
    // Non-ASCII text (3 bytes per character) so that characters and bytes differ by 3x.
    for (let n = 1; n <= 1_000; n += 1) {
      await endpoint.publish('feed', { n, text: '€'.repeat(20 + (n % 50)) });
    }
    const client = await constrained(started.url);
    client.sendJson({ t: 'sub', topic: 'feed', last: 1_000 });
    const subscribed = await client.next((f) => f.t === 'subscribed');
    expect(subscribed).toMatchObject({ replay: 1_000, recovered: true });
    await client.next((f) => f.t === 'pub' && f.offset === 1_000, 20_000);
    const offsets = client.frames.filter((f) => f.t === 'pub').map((f) => f.offset);
    expect(offsets).toEqual(Array.from({ length: 1_000 }, (_, i) => i + 1));
    expect(largestMessage(client)).toBeLessThanOrEqual(LIMIT);
    // Batched all the same: far fewer messages than frames.
    expect(client.messages.length).toBeLessThan(500);

    // Live publications queued within one tick are cut to fit too.
    await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        endpoint.publish('feed', { live: i, pad: 'é'.repeat(60) }),
      ),
    );
    await client.next((f) => f.t === 'pub' && f.offset === 1_200, 10_000);
    expect(largestMessage(client)).toBeLessThanOrEqual(LIMIT);
  }, 40_000);

  it('a client without the option still gets the server-sized batches', async () => {
    const started = await server.start();
    for (let n = 1; n <= 1_000; n += 1)
      await started.endpoint.publish('feed', { n, pad: 'x'.repeat(40) });
    const client = await RawClient.connect(started.url);
    server.keep(client);
    client.sendJson({ t: 'sub', topic: 'feed', last: 1_000 });
    await client.next((f) => f.t === 'pub' && f.offset === 1_000, 20_000);
    expect(largestMessage(client)).toBeGreaterThan(LIMIT);
  });

  it('a publication, a message and a reply too big for the client are replaced, and the streams go on', async () => {
    const started = await server.start();
    const { endpoint } = started;
    endpoint.handle('big', () => ({ blob: 'y'.repeat(LIMIT) }));
    endpoint.handle('small', () => ({ ok: 1 }));
    const client = await constrained(started.url);
    const welcome = client.frames.find((f) => f.t === 'welcome') as AnyFrame;
    client.sendJson({ t: 'sub', topic: 'news' });
    await client.next((f) => f.t === 'subscribed');

    await endpoint.publish('news', { n: 1 });
    await endpoint.publish('news', { n: 2, blob: 'z'.repeat(LIMIT) });
    await endpoint.publish('news', { n: 3 });
    const skipped = await client.next((f) => f.t === 'error' && f.code === 'TOO_BIG');
    expect(skipped).toMatchObject({ ref: { t: 'pub', topic: 'news' } });
    expect(String(skipped.message)).toContain(':2 of "news"');
    await client.next((f) => f.t === 'pub' && f.offset === 3);
    expect(client.frames.filter((f) => f.t === 'pub').map((f) => f.offset)).toEqual([1, 3]);

    const sid = welcome.sid as string;
    await endpoint.sendTo(sid, { n: 1 });
    await endpoint.sendTo(sid, { n: 2, blob: 'w'.repeat(LIMIT) });
    await endpoint.sendTo(sid, { n: 3 });
    const lost = await client.next((f) => f.t === 'error' && f.code === 'TOO_BIG');
    expect(lost).toMatchObject({ ref: { t: 'msg', seq: 2 } });
    await client.next((f) => f.t === 'msg' && f.seq === 3);
    expect(client.frames.filter((f) => f.t === 'msg').map((f) => f.seq)).toEqual([1, 3]);

    const big = await client.request('big', null, 'r1');
    expect(big).toMatchObject({ ok: false, error: { code: 'TOO_BIG' } });
    const small = await client.request('small', null, 'r2');
    expect(small).toMatchObject({ ok: true, data: { ok: 1 } });
    expect(largestMessage(client)).toBeLessThanOrEqual(LIMIT);
    expect(client.ws.readyState).toBe(client.ws.OPEN);
  });

  it('a limit below 1024 bytes is refused with BAD_FIELD naming it', async () => {
    const started = await server.start();
    const client = await RawClient.open(started.url);
    server.keep(client);
    client.sendJson({ t: 'hello', v: 1, maxMessageBytes: 512 });
    const error = await client.next((f) => f.t === 'error');
    expect(error).toMatchObject({ code: 'BAD_FIELD' });
    expect(String(error.message)).toContain('hello.maxMessageBytes');
  });
});
