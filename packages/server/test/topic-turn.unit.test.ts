/**
 * Topic turns (issue 13): a turn's publications are recorded once per topic and every
 * subscriber with nothing else to write gets them as one shared message. Each test is a
 * guarantee that path could break: order when some subscribers have frames of their own
 * in the same turn, unsubscribe and resubscribe between publish and flush, a connection
 * closing mid-turn, a replay while bursts go on, and the slow-consumer check counting
 * the shared bytes. Real TopicHub, memory store and writers; stub sockets stand in for
 * `ws` because only they hold `bufferedAmount` at a chosen value.
 */
import { ManualClock, systemClock } from '@tether/common';
import { encodeFrame, type ServerFrame } from '@tether/protocol';
import { withTimeout } from '@tether/testkit';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AckScheduler } from '../src/ack-scheduler.js';
import type { ConnectionState } from '../src/connection-types.js';
import { ConnectionWriter } from '../src/connection-writer.js';
import { FlushScheduler } from '../src/flush-scheduler.js';
import { silentLogger } from '../src/logger.js';
import { resolveEndpointOptions } from '../src/options.js';
import { EndpointCounters } from '../src/stats.js';
import { MemoryStore } from '../src/store/index.js';
import { TetherSocket } from '../src/tether-socket.js';
import type { Subscriber } from '../src/topic-types.js';
import { TopicHub } from '../src/topics.js';

const TOPIC = 't';
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** One subscriber: a real writer on a stub socket that records each message written. */
function subscriber(flusher: FlushScheduler, id: string, slowConsumerBytes = 4 * 1024 * 1024) {
  const messages: Array<string | Buffer> = [];
  const closes: number[] = [];
  const ws = {
    bufferedAmount: 0,
    /** A client that stopped reading: what is written stays in `bufferedAmount`. */
    stalled: false,
    readyState: TetherSocket.OPEN,
    rawWrites: true,
    sendText: (text: string, bytes: number) => {
      messages.push(text);
      if (ws.stalled) ws.bufferedAmount += bytes;
    },
    sendFramed: (_frame: Buffer, data: Buffer) => {
      messages.push(data);
      if (ws.stalled) ws.bufferedAmount += data.length;
    },
    afterWrites: () => {},
    send: () => {},
    terminate: () => {},
  };
  const counters = new EndpointCounters();
  const options = resolveEndpointOptions({ slowConsumerBytes });
  const owner = {
    id,
    state: 'open' as ConnectionState,
    closeStarted: false,
    slowConsumer: () => {
      closes.push(4009);
      owner.state = 'closing';
    },
    tooBigForPeer: () => false,
  };
  const writer = new ConnectionWriter(
    ws as unknown as TetherSocket,
    {
      options,
      logger: silentLogger,
      flusher,
      acks: new AckScheduler(0, flusher, new ManualClock()),
      counters,
    },
    owner,
  );
  const sub: Subscriber = {
    id,
    get state() {
      return owner.state;
    },
    writer,
    sendEncoded: (encoded, bytes) => writer.offer(encoded, bytes),
    enqueue: (frame: ServerFrame) => void writer.offer(encodeFrame(frame)),
    roomFor: (bytes) => writer.roomFor(bytes),
    get pendingBytes() {
      return writer.pendingBytes;
    },
    whenWritable: () => writer.whenWritable(),
    closeWith: (code) => {
      closes.push(code);
      owner.state = 'closing';
      writer.discard();
    },
  };
  const context = {
    counters,
    bufferBytes: options.slowConsumerBytes,
    pageBytes: options.replayPageBytes,
  };
  /** Every frame received, in order (a batch counts each frame in it). */
  const frames = (): Array<Record<string, unknown>> =>
    messages.flatMap((m) => {
      const parsed = JSON.parse(String(m)) as
        | Record<string, unknown>
        | Array<Record<string, unknown>>;
      return Array.isArray(parsed) ? parsed : [parsed];
    });
  const offsets = () =>
    frames()
      .filter((f) => f.t === 'pub')
      .map((f) => f.offset as number);
  return { sub, ws, writer, owner, context, messages, frames, offsets, closes };
}

type Sub = ReturnType<typeof subscriber>;

const hubs: TopicHub[] = [];
afterEach(() => {
  for (const hub of hubs.splice(0)) hub.dispose();
  vi.restoreAllMocks();
});

/** A hub with `n` subscribers of TOPIC, all subscribed and live. */
async function setup(n: number, slowConsumerBytes?: number) {
  const flusher = new FlushScheduler();
  const hub = new TopicHub(new MemoryStore(), systemClock, silentLogger, flusher);
  hubs.push(hub);
  const subs: Sub[] = [];
  for (let i = 0; i < n; i += 1) {
    const s = subscriber(flusher, `c${i}`, slowConsumerBytes);
    hub.subscribe(s.sub, TOPIC, {}, s.context);
    subs.push(s);
  }
  // Live once `subscribed` went out and the (empty) replay caught up.
  await withTimeout(
    (async () => {
      while (!subs.every((s) => s.frames().some((f) => f.t === 'subscribed'))) await turn();
      // One more publication round trip proves each is live.
      await hub.publish(TOPIC, 0);
      while (!subs.every((s) => s.offsets().includes(1))) await turn();
    })(),
    5_000,
    'subscribers live',
  );
  const epoch = subs[0]?.frames().find((f) => f.t === 'subscribed')?.epoch as string;
  for (const s of subs) s.messages.length = 0;
  return { hub, subs, flusher, epoch };
}

/** Publishes `count` numbered publications in one turn (not awaited in between). */
function burst(hub: TopicHub, from: number, count: number): Promise<unknown> {
  const all: Array<Promise<unknown>> = [];
  for (let i = 0; i < count; i += 1) all.push(hub.publish(TOPIC, from + i));
  return Promise.all(all);
}

const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('topic turns', () => {
  it('records a burst once per topic: each subscriber gets one message, the same bytes, without an offer per publication', async () => {
    const { hub, subs } = await setup(50);
    const offer = vi.spyOn(ConnectionWriter.prototype, 'offer');
    await burst(hub, 1, 20);
    await turn();
    // Before: 20 publications × 50 subscribers = 1,000 offers, each to its own queue.
    expect(offer).not.toHaveBeenCalled();
    const first = subs[0]?.messages[0];
    for (const s of subs) {
      expect(s.messages).toHaveLength(1);
      expect(s.messages[0]).toBe(first); // the very same Buffer
      expect(s.offsets()).toEqual(range(2, 21));
    }
  });

  it('keeps each subscriber in order when some have frames of their own in the same turn', async () => {
    const { hub, subs } = await setup(4);
    const [a, b, c] = subs as [Sub, Sub, Sub, Sub];
    const p1 = hub.publish(TOPIC, 1);
    const p2 = hub.publish(TOPIC, 2);
    // After the first two fanned out, before the third: a message of b's own, and a
    // reply that c gets at once.
    const p3 = p2.then(() => {
      b.sub.enqueue({ t: 'msg', data: 'own' });
      c.writer.reply(encodeFrame({ t: 'res', id: 1, ok: true, data: null }));
      return hub.publish(TOPIC, 3);
    });
    await Promise.all([p1, p2, p3]);
    await turn();
    await turn();
    const seen = (s: Sub) =>
      s.frames().map((f) => (f.t === 'pub' ? f.offset : f.t === 'msg' ? f.data : f.t));
    expect(seen(a)).toEqual([2, 3, 4]);
    expect(seen(b)).toEqual([2, 3, 'own', 4]);
    expect(seen(c)).toEqual([2, 3, 'res', 4]);
    for (const s of subs) expect(s.offsets()).toEqual([2, 3, 4]);
  });

  it('delivers what was published before an unsubscribe in the same turn, nothing after', async () => {
    const { hub, subs } = await setup(3);
    const [a, b] = subs as [Sub, Sub, Sub];
    const p1 = burst(hub, 1, 5);
    const p2 = p1.then(() => {
      hub.unsubscribe(b.sub, TOPIC);
      return burst(hub, 6, 5);
    });
    await p2;
    await turn();
    expect(a.offsets()).toEqual(range(2, 11));
    expect(b.offsets()).toEqual(range(2, 6));
  });

  it('gives a resubscribe in the same turn no duplicate and no gap', async () => {
    const { hub, subs, epoch } = await setup(2);
    const [a, b] = subs as [Sub, Sub];
    const p1 = burst(hub, 1, 5);
    const p2 = p1.then(() => {
      // Resubscribe from where b stands after the first five.
      hub.subscribe(b.sub, TOPIC, { from: { epoch, offset: 6 } }, b.context);
      return burst(hub, 6, 5);
    });
    await p2;
    await withTimeout(
      (async () => {
        while (b.offsets().length < 10) await turn();
      })(),
      5_000,
      'resubscribed',
    );
    await turn();
    expect(a.offsets()).toEqual(range(2, 11));
    expect(b.offsets()).toEqual(range(2, 11));
  });

  it('gives a subscriber replaying the history every publication once, in order, while bursts go on', async () => {
    const { hub, subs, flusher, epoch } = await setup(3);
    await burst(hub, 1, 40);
    await turn();
    const late = subscriber(flusher, 'late');
    hub.subscribe(late.sub, TOPIC, { from: { epoch, offset: 0 } }, late.context);
    for (let round = 0; round < 10; round += 1) {
      await burst(hub, 100 + round * 20, 20);
      await turn();
    }
    await withTimeout(
      (async () => {
        while (late.offsets().length < 241) await turn();
      })(),
      5_000,
      'replay and live',
    );
    expect(late.offsets()).toEqual(range(1, 241));
    for (const s of subs) expect(s.offsets()).toEqual(range(2, 241));
  });

  it('writes nothing to a connection that closed mid-turn; the others get the whole turn', async () => {
    const { hub, subs } = await setup(3);
    const [a, b] = subs as [Sub, Sub, Sub];
    const p1 = burst(hub, 1, 5);
    const p2 = p1.then(() => {
      b.sub.closeWith(1001, 'going away');
      hub.unsubscribeAll(b.sub, [TOPIC]);
      return burst(hub, 6, 5);
    });
    await p2;
    await turn();
    expect(a.offsets()).toEqual(range(2, 11));
    expect(b.messages).toHaveLength(0);
  });

  it('counts the shared bytes against each socket: one that holds too much closes with 4009, the others get the turn', async () => {
    const limit = 16 * 1024;
    const { hub, subs } = await setup(3, limit);
    const [a, b] = subs as [Sub, Sub, Sub];
    // b's socket still holds most of its limit: the turn's bytes would pass it.
    b.ws.bufferedAmount = limit - 1_000;
    b.ws.stalled = true;
    const pad = 'x'.repeat(200);
    const all: Array<Promise<unknown>> = [];
    for (let i = 0; i < 20; i += 1) all.push(hub.publish(TOPIC, { i, pad }));
    await Promise.all(all);
    await turn();
    expect(b.closes).toEqual([4009]);
    // What b's socket holds stays within its limit plus one frame.
    expect(b.ws.bufferedAmount).toBeLessThanOrEqual(limit + 400);
    expect(b.offsets().length).toBeGreaterThan(0);
    expect(a.offsets()).toEqual(range(2, 21));
    expect(a.closes).toEqual([]);
  });

  it('keeps the seats from turn to turn: a later burst seats nobody again and everyone gets it in order', async () => {
    const { hub, subs } = await setup(20);
    await burst(hub, 1, 10);
    await turn();
    const join = vi.spyOn(ConnectionWriter.prototype, 'joinTurn');
    const offer = vi.spyOn(ConnectionWriter.prototype, 'offer');
    for (let round = 0; round < 3; round += 1) {
      await burst(hub, 11 + round * 10, 10);
      await turn();
    }
    expect(join).not.toHaveBeenCalled();
    expect(offer).not.toHaveBeenCalled();
    for (const s of subs) {
      expect(s.messages).toHaveLength(4);
      expect(s.offsets()).toEqual(range(2, 41));
    }
  });

  it('moves a connection between the lanes of two topics it takes in turn, in order, nothing lost', async () => {
    const { hub, subs } = await setup(3);
    const [a, b] = subs as [Sub, Sub, Sub];
    hub.subscribe(a.sub, 'u', {}, a.context);
    await withTimeout(
      (async () => {
        while (!a.frames().some((f) => f.t === 'subscribed' && f.topic === 'u')) await turn();
      })(),
      5_000,
      'subscribed to u',
    );
    for (let round = 0; round < 4; round += 1) {
      await burst(hub, round * 10, 3);
      await turn();
      await Promise.all([hub.publish('u', round), hub.publish('u', round + 0.5)]);
      await turn();
    }
    const seen = a
      .frames()
      .filter((f) => f.t === 'pub')
      .map((f) => `${String(f.topic)}${String(f.offset)}`);
    expect(seen).toEqual(
      [0, 1, 2, 3].flatMap((r) => [
        `t${2 + r * 3}`,
        `t${3 + r * 3}`,
        `t${4 + r * 3}`,
        `u${1 + r * 2}`,
        `u${2 + r * 2}`,
      ]),
    );
    expect(b.offsets()).toEqual(range(2, 13));
  });

  it('checks a standing seat against the slow-consumer limit at each batch: a socket that filled up between turns closes with 4009', async () => {
    const limit = 16 * 1024;
    const { hub, subs } = await setup(3, limit);
    const [a, b] = subs as [Sub, Sub, Sub];
    const pad = 'x'.repeat(200);
    await hub.publish(TOPIC, { i: 0, pad });
    await turn();
    // Between turns, b's client stops reading with most of its limit unsent.
    b.ws.bufferedAmount = limit - 1_000;
    b.ws.stalled = true;
    const all: Array<Promise<unknown>> = [];
    for (let i = 1; i <= 20; i += 1) all.push(hub.publish(TOPIC, { i, pad }));
    await Promise.all(all);
    await turn();
    expect(b.closes).toEqual([4009]);
    expect(b.ws.bufferedAmount).toBeLessThanOrEqual(limit + 400);
    expect(b.offsets()).toEqual(range(2, b.offsets().length + 1));
    expect(a.offsets()).toEqual(range(2, 22));
    expect(a.closes).toEqual([]);
  });

  it('takes nothing more to a seat that unsubscribed or closed between turns; the others go on', async () => {
    const { hub, subs } = await setup(4);
    const [a, b, c] = subs as [Sub, Sub, Sub, Sub];
    await burst(hub, 1, 5);
    await turn();
    hub.unsubscribe(b.sub, TOPIC);
    c.sub.closeWith(1001, 'going away');
    hub.unsubscribeAll(c.sub, [TOPIC]);
    for (let round = 0; round < 2; round += 1) {
      await burst(hub, 6 + round * 5, 5);
      await turn();
    }
    expect(a.offsets()).toEqual(range(2, 16));
    expect(b.offsets()).toEqual(range(2, 6));
    expect(c.offsets()).toEqual(range(2, 6));
  });

  it('writes nothing to a standing seat whose connection began closing; the others go on', async () => {
    const { hub, subs } = await setup(3);
    const [a, b] = subs as [Sub, Sub, Sub];
    await burst(hub, 1, 5);
    await turn();
    // Closing, still subscribed (the close is under way), as ConnectionClose.startClosing
    // does it: its queue written, the state changed, the writer discarded.
    b.writer.flush();
    b.owner.state = 'closing';
    b.writer.discard();
    await burst(hub, 6, 5);
    await turn();
    expect(a.offsets()).toEqual(range(2, 11));
    expect(b.offsets()).toEqual(range(2, 6));
  });

  it('lets go of the connections that left a lane whose topic fell quiet, past half of its seats', async () => {
    const { hub, subs } = await setup(10);
    await burst(hub, 1, 3);
    await turn();
    // The lane's list of seats, read from the hub's private state.
    const seats = () =>
      (
        (hub as unknown as { topics: Map<string, { turn?: { seats: unknown[] } }> }).topics.get(
          TOPIC,
        )?.turn?.seats ?? []
      ).length;
    expect(seats()).toBe(10);
    // No publication follows: the leavers are dropped from the list all the same.
    for (const s of subs.slice(0, 8)) {
      s.sub.closeWith(1001, 'going away');
      hub.unsubscribeAll(s.sub, [TOPIC]);
    }
    expect(seats()).toBeLessThanOrEqual(4);
    await burst(hub, 4, 2);
    await turn();
    expect(seats()).toBe(2);
    for (const s of subs.slice(8)) expect(s.offsets()).toEqual(range(2, 6));
  });
});
