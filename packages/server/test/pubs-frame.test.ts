/**
 * `pubs` frames (hello.pubs, docs/protocol.md "pubs"): a client that asks for them gets a
 * topic's burst as one frame with the envelope once; it must stand for exactly the `pub`
 * frames a client that did not ask gets (same offsets, epoch, data and time, in order),
 * and a client that did not ask never sees one.
 */
import { decodeMessage } from '@tether/protocol';
import { describe, expect, it } from 'vitest';
import { type Delivery, deliveryOf, pubEncoder, pubsFrames } from '../src/subscription.js';
import { type AnyFrame, RawClient, serverPerTest, until } from './helpers.js';

type Pub = { t: 'pub'; topic: string; epoch: string; offset: number; data: unknown; time?: number };

/** The `pub` frames a list of frames stands for: each `pubs` expanded, in order. */
function expanded(frames: readonly AnyFrame[]): Pub[] {
  return frames.flatMap((f): Pub[] => {
    if (f.t === 'pub') return [f as unknown as Pub];
    if (f.t !== 'pubs') return [];
    return (f.data as unknown[]).map((data, i) => {
      const pub: Pub = {
        t: 'pub',
        topic: f.topic as string,
        epoch: f.epoch as string,
        offset: (f.offset as number) + i,
        data,
      };
      if (f.time !== undefined) pub.time = f.time as number;
      return pub;
    });
  });
}

function delivery(offset: number, time: number, epoch = 'E'): Delivery {
  const data = JSON.stringify({ n: offset });
  const frame = pubEncoder('t')({ epoch, offset, time, data });
  return deliveryOf('t', { epoch, offset, time, data, frame }, frame);
}

/** Every frame of `encoded`, validated as a server frame. */
function decoded(encoded: readonly string[]): AnyFrame[] {
  return encoded.map((text) => {
    const [result] = decodeMessage(text, 'server');
    expect(result?.ok, text).toBe(true);
    return JSON.parse(text) as AnyFrame;
  });
}

/**
 * `pubsFrames` of `run`: each frame a valid server frame, their types and offsets as
 * `shape`, standing for exactly the run's `pub` frames. Returns the encoded frames.
 */
function framesOf(run: Delivery[], shape: Array<[string, number]>): string[] {
  const encoded = pubsFrames(run);
  const frames = decoded(encoded);
  expect(frames.map((f) => [f.t, f.offset])).toEqual(shape);
  expect(expanded(frames)).toEqual(run.map((d) => JSON.parse(d.frame)));
  return encoded;
}

describe('pubsFrames', () => {
  it('writes a run of one time as one pubs frame standing for exactly its pub frames', () => {
    const run = [1, 2, 3, 4].map((o) => delivery(o, 1_000));
    const frames = decoded(pubsFrames(run));
    expect(frames).toEqual([
      {
        t: 'pubs',
        topic: 't',
        epoch: 'E',
        offset: 1,
        data: [{ n: 1 }, { n: 2 }, { n: 3 }, { n: 4 }],
        time: 1_000,
      },
    ]);
    expect(expanded(frames)).toEqual(run.map((d) => JSON.parse(d.frame)));
  });

  it('starts a new frame where the time, the epoch or the offsets change; a run of one stays a pub', () => {
    const run = [
      delivery(5, 1_000),
      delivery(6, 1_000),
      delivery(7, 1_001),
      delivery(8, 1_001),
      delivery(9, 1_002),
      delivery(1, 1_002, 'F'),
      delivery(3, 1_002, 'F'),
    ];
    const encoded = framesOf(run, [
      ['pubs', 5],
      ['pubs', 7],
      ['pub', 9],
      ['pub', 1],
      ['pub', 3],
    ]);
    // A pub left alone is the publication's own frame, byte for byte.
    expect(encoded[2]).toBe(run[4]?.frame);
  });

  it('sends a publication whose data is not known (relayed as its frame alone) as its pub frame', () => {
    // A shared store may relay a publication as its stored frame only (data ''): it cannot
    // join a pubs frame, and the runs around it still can.
    const stored = delivery(3, 1_000);
    const relayed = deliveryOf(
      't',
      { epoch: 'E', offset: 3, time: 1_000, data: '', frame: stored.frame },
      stored.frame,
    );
    const run = [delivery(1, 1_000), delivery(2, 1_000), relayed, delivery(4, 1_000)];
    const encoded = framesOf(run, [
      ['pubs', 1],
      ['pub', 3],
      ['pub', 4],
    ]);
    expect(encoded[1]).toBe(relayed.frame);
  });
});

describe('a burst to clients with and without hello.pubs', () => {
  const server = serverPerTest();

  async function client(url: string, pubs: boolean | undefined): Promise<RawClient> {
    const c = await RawClient.open(url);
    server.keep(c);
    c.sendJson(pubs === undefined ? { t: 'hello', v: 1 } : { t: 'hello', v: 1, pubs });
    await c.next((f) => f.t === 'welcome');
    c.sendJson({ t: 'sub', topic: 'burst' });
    await c.next((f) => f.t === 'subscribed');
    return c;
  }

  it('sends the asking client the same publications in fewer bytes, and the others pub frames only', async () => {
    const { url, tether } = await server.start({});
    const compact = await client(url, true);
    const plain = await client(url, undefined);
    const refused = await client(url, false);
    // One publication first: every subscriber is live and takes the topic's turns.
    await tether.publish('burst', { n: 0 });
    const all = [compact, plain, refused];
    await until(() => all.every((c) => expanded(c.frames).length === 1), 'first publication');
    const before = all.map((c) => c.messages.length);
    const burst: Array<Promise<unknown>> = [];
    for (let n = 1; n <= 20; n += 1)
      burst.push(tether.publish('burst', { n, pad: 'x'.repeat(64) }));
    await Promise.all(burst);
    await tether.publish('burst', { n: 21 });
    await until(() => all.every((c) => expanded(c.frames).length === 22), 'the burst and one more');

    const wanted = expanded(plain.frames);
    expect(wanted.map((p) => p.offset)).toEqual(Array.from({ length: 22 }, (_, i) => i + 1));
    expect(wanted.map((p) => (p.data as { n: number }).n)).toEqual(
      Array.from({ length: 22 }, (_, i) => i),
    );
    expect(expanded(compact.frames)).toEqual(wanted);
    expect(expanded(refused.frames)).toEqual(wanted);
    expect(compact.frames.some((f) => f.t === 'pubs')).toBe(true);
    expect(plain.frames.some((f) => f.t === 'pubs')).toBe(false);
    expect(refused.frames.some((f) => f.t === 'pubs')).toBe(false);
    for (const text of compact.messages) {
      for (const result of decodeMessage(text, 'server')) expect(result.ok, text).toBe(true);
    }
    const bytes = (c: RawClient, from: number) =>
      c.messages.slice(from).reduce((sum, m) => sum + Buffer.byteLength(m), 0);
    expect(bytes(compact, before[0] as number)).toBeLessThan(
      bytes(plain, before[1] as number) * 0.75,
    );
  });
});
