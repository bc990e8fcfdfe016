/**
 * The connection's write path on its own (issue 10): frames queued in one tick leave as
 * one batch, a cumulative ack rides along, and a frame that would push what is held
 * past `slowConsumerBytes` is refused and reported instead of queued. A stub socket
 * stands in for `ws` because only it can hold `bufferedAmount` at a chosen value.
 */
import { ManualClock } from '@tether/common';
import { describe, expect, it } from 'vitest';
import { AckScheduler } from '../src/ack-scheduler.js';
import type { ConnectionState } from '../src/connection-types.js';
import { ConnectionWriter } from '../src/connection-writer.js';
import { type Flushable, FlushScheduler, SHARED_CANDIDATES } from '../src/flush-scheduler.js';
import { silentLogger } from '../src/logger.js';
import { resolveEndpointOptions } from '../src/options.js';
import { EndpointCounters } from '../src/stats.js';
import { TetherSocket } from '../src/tether-socket.js';

function setup(
  options: Parameters<typeof resolveEndpointOptions>[0] = {},
  flusher = new FlushScheduler(),
) {
  const sent: string[] = [];
  /** What `send` got, as it got it (a string, or shared bytes). */
  const raw: Array<string | Buffer> = [];
  /** The completion callback each write was given (undefined: none). */
  const callbacks: Array<(() => void) | undefined> = [];
  const afterWrites: Array<() => void> = [];
  const ws = {
    bufferedAmount: 0,
    readyState: TetherSocket.OPEN,
    send: (message: string | Buffer) => {
      raw.push(message);
      sent.push(String(message));
    },
    /** A message written as one prebuilt frame: its text, checked against its byte count. */
    sendText: (text: string, bytes: number, done?: () => void) => {
      if (Buffer.byteLength(text) !== bytes) throw new Error(`${bytes} bytes stated for ${text}`);
      raw.push(text);
      sent.push(text);
      callbacks.push(done);
    },
    /** A shared message: its bytes (the frame is written as they are). */
    sendFramed: (_frame: Buffer, data: Buffer, done?: () => void) => {
      raw.push(data);
      sent.push(String(data));
      callbacks.push(done);
    },
    rawWrites: true,
    /** Asked for a callback behind the writes made so far. */
    afterWrites: (done: () => void) => {
      afterWrites.push(done);
    },
    terminate: () => {},
  };
  const counters = new EndpointCounters();
  const slow: number[] = [];
  const owner = {
    id: 'c1',
    state: 'open' as ConnectionState,
    closeStarted: false,
    slowConsumer: (bytes: number) => slow.push(bytes),
    tooBigForPeer: () => false,
  };
  const writer = new ConnectionWriter(
    ws as unknown as TetherSocket,
    {
      options: resolveEndpointOptions(options),
      logger: silentLogger,
      flusher,
      acks: new AckScheduler(0, flusher, new ManualClock()),
      counters,
    },
    owner,
  );
  return { writer, ws, sent, raw, counters, slow, owner, callbacks, afterWrites };
}

describe('ConnectionWriter', () => {
  it('writes the frames of one tick as one batch, with the pending ack last', () => {
    const { writer, sent, counters } = setup({ ackEvery: 100 });
    writer.offer('{"t":"msg","data":1}');
    writer.offer('{"t":"msg","data":2}');
    writer.ack(7);
    writer.flush();
    expect(sent).toEqual(['[{"t":"msg","data":1},{"t":"msg","data":2},{"t":"ack","seq":7}]']);
    expect(writer.messagesOut).toBe(3);
    expect(writer.bytesOut).toBe(sent[0]?.length);
    expect(counters.messagesOut).toBe(3);
    expect(writer.pendingBytes).toBe(0);
  });

  it('writes a reply at once when nothing else is queued, and in order behind what is', () => {
    const { writer, sent } = setup();
    // Nothing queued: the reply does not wait for the end of the turn.
    expect(writer.reply('{"t":"res","id":1,"ok":true}')).toBe(true);
    expect(sent).toEqual(['{"t":"res","id":1,"ok":true}']);
    // Something queued this turn: the reply joins the batch behind it.
    writer.offer('{"t":"msg","data":1}');
    expect(writer.reply('{"t":"res","id":2,"ok":true}')).toBe(true);
    expect(sent).toHaveLength(1);
    writer.flush();
    expect(sent[1]).toBe('[{"t":"msg","data":1},{"t":"res","id":2,"ok":true}]');
  });

  it('schedules no end-of-turn flush for a reply written at once (an immediate for nothing)', () => {
    const marked: Flushable[] = [];
    const flusher = new (class extends FlushScheduler {
      override mark(item: Flushable): void {
        marked.push(item);
        super.mark(item);
      }
    })();
    const { writer, sent } = setup({}, flusher);
    writer.reply('{"t":"res","id":1,"ok":true}');
    expect(sent).toEqual(['{"t":"res","id":1,"ok":true}']);
    expect(marked).toEqual([]);
  });

  it('encodes a batch that many connections get in one turn once, and writes the same bytes to each', async () => {
    const flusher = new FlushScheduler();
    const a = setup({}, flusher);
    const b = setup({}, flusher);
    const c = setup({}, flusher);
    const pub1 = '{"t":"pub","topic":"t","epoch":"e","offset":1,"data":1,"time":0}';
    const pub2 = '{"t":"pub","topic":"t","epoch":"e","offset":2,"data":2,"time":0}';
    for (const w of [a, b]) {
      w.writer.offer(pub1);
      w.writer.offer(pub2);
    }
    c.writer.offer(pub2); // a different queue: its own message
    await new Promise<void>((resolve) => setImmediate(resolve));
    const [sentA, sentB, sentC] = [a.raw[0], b.raw[0], c.raw[0]];
    expect(Buffer.isBuffer(sentA)).toBe(true);
    expect(sentB).toBe(sentA); // the very same bytes, encoded once
    expect(String(sentA)).toBe(`[${pub1},${pub2}]`);
    expect(String(sentC)).toBe(pub2);
    expect(sentC).not.toBe(sentA);
  });

  it('compares a queue with a bounded number of others: queues that all differ (an ack each) cost no quadratic search', async () => {
    const flusher = new FlushScheduler();
    const pub = '{"t":"pub","topic":"t","epoch":"e","offset":1,"data":1,"time":0}';
    const results: Array<boolean> = [];
    // 200 connections in one run: the same publication, then a frame of their own.
    for (let i = 0; i < 200; i += 1) {
      const frames = [pub, `{"t":"ack","seq":${i}}`];
      flusher.mark({
        flush: () => {
          const shared = flusher.sharedMessage(frames, () => frames.join(','));
          results.push(shared !== undefined);
        },
      });
    }
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(results).toHaveLength(200);
    // A handful are kept for sharing; the rest are written on their own, unsearched.
    expect(results.filter(Boolean).length).toBeLessThanOrEqual(SHARED_CANDIDATES);
  });

  it('refuses a frame that would pass slowConsumerBytes and tells the owner', () => {
    const { writer, ws, sent, slow } = setup({ slowConsumerBytes: 1024 });
    ws.bufferedAmount = 1000;
    expect(writer.roomFor(10)).toBe(false);
    expect(writer.offer('x'.repeat(100))).toBe(false);
    expect(slow).toEqual([1100]);
    writer.flush();
    expect(sent).toEqual([]);
    // With nothing held, one frame always goes (it may be larger than the limit).
    ws.bufferedAmount = 0;
    expect(writer.offer('y'.repeat(2000))).toBe(true);
  });

  it('writes without a completion callback while no replay waits; one that waits is called back behind them', async () => {
    const { writer, ws, callbacks, afterWrites } = setup();
    writer.offer('{"t":"msg","data":1}');
    writer.flush();
    writer.reply('{"t":"res","id":1,"ok":true}');
    // Nobody waits for room: no callback per write (a tick and an object each in Node).
    expect(callbacks).toEqual([undefined, undefined]);
    expect(afterWrites).toHaveLength(0);
    // The socket still holds those bytes: a replay waiting for room asks for a callback
    // behind them, and is woken by it.
    ws.bufferedAmount = 10_000;
    const waiting = writer.whenWritable();
    const also = writer.whenWritable();
    expect(afterWrites).toHaveLength(1);
    ws.bufferedAmount = 0;
    afterWrites[0]?.();
    expect(await waiting).toBe(true);
    expect(await also).toBe(true);
    // Frames queued: their write carries the callback (no extra empty write).
    writer.offer('{"t":"msg","data":2}');
    const queued = writer.whenWritable();
    expect(afterWrites).toHaveLength(1);
    writer.flush();
    const done = callbacks[2];
    expect(done).toBeTypeOf('function');
    done?.();
    expect(await queued).toBe(true);
  });

  it('gives every write its callback where writes are not raw (ws send with an extension)', () => {
    const { writer, ws, callbacks } = setup();
    ws.rawWrites = false;
    writer.offer('{"t":"msg","data":1}');
    writer.flush();
    expect(callbacks[0]).toBeTypeOf('function');
  });

  it('queues nothing once closing, and wakes replays waiting for room with false', async () => {
    const { writer, owner } = setup();
    const waiting = writer.whenWritable();
    owner.state = 'closing';
    writer.discard();
    expect(await waiting).toBe(false);
    expect(writer.offer('{"t":"msg"}')).toBe(false);
  });
});
