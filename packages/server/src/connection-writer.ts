import { encodeFrame, joinEncoded } from '@tether/protocol';
import type { AckScheduler } from './ack-scheduler.js';
import { batches } from './batching.js';
import type { ConnectionState } from './connection-types.js';
import type { FlushScheduler, SharedMessage } from './flush-scheduler.js';
import type { Logger } from './logger.js';
import type { ResolvedEndpointOptions } from './options.js';
import type { EndpointCounters } from './stats.js';
import { TetherSocket } from './tether-socket.js';
import type { TurnBatch, TurnSeat, TurnWriter } from './topic-turn.js';

/** What the write path needs from the endpoint. */
export interface WriterHost {
  readonly options: ResolvedEndpointOptions;
  readonly logger: Logger;
  readonly flusher: FlushScheduler;
  readonly acks: AckScheduler;
  readonly counters: EndpointCounters;
}

/** What the write path needs from its connection. */
export interface WriterOwner {
  readonly id: string;
  /** Leaves `open` only through {@link ConnectionWriter.discard} (a seated writer is open). */
  readonly state: ConnectionState;
  /** Whether a close has begun (a `goodbye` is out or the socket reported a bad frame). */
  readonly closeStarted: boolean;
  /** The queue would pass `slowConsumerBytes`: the connection closes with 4009. */
  slowConsumer(bytes: number): void;
  /**
   * A frame is larger than the client's `hello.maxMessageBytes`: the owner sends what
   * stands in for it (see peer-limit.ts). Returns whether the frame counts as delivered.
   */
  tooBigForPeer(encoded: string, bytes: number, limit: number): boolean;
}

const utf8Bytes = (text: string): number => Buffer.byteLength(text);

/**
 * A connection's write path: the queue of encoded frames, its bytes, the cumulative ack
 * waiting to ride along, the slow-consumer check against `bufferedAmount`, and the
 * flush that writes a tick's frames as batches. It is the {@link Flushable} the shared
 * schedulers mark.
 *
 * Memory held for the client is bounded: the socket's unsent bytes plus the queue never
 * pass `slowConsumerBytes` by more than one frame. A frame that would push them past it
 * is refused and the owner closes as a slow consumer. Replays wait for room
 * ({@link whenWritable}) instead of filling the queue.
 */
export class ConnectionWriter implements TurnWriter {
  /** Frames waiting for the flush; allocated on first use (an idle connection holds none). */
  private queue: string[] | undefined;
  /**
   * The topic lane this connection takes publications from as one shared message per
   * turn (topic-turn.ts), while its own queue is empty: anything else written leaves it
   * first. The seat stands from turn to turn until then.
   */
  private seat: TurnSeat | undefined;
  /** UTF-8 bytes of the frames in `queue`. */
  private queuedBytes = 0;
  /** Pumps waiting for room (see {@link whenWritable}). */
  private waiters: Array<() => void> | undefined;
  private pendingAck = 0;
  private ackSent = 0;
  private sentMessages = 0;
  private sentBytes = 0;
  /**
   * The largest message the client accepts (`hello.maxMessageBytes`, UTF-8 bytes) when it
   * stated one below the server's own `maxMessageBytes`; undefined otherwise.
   */
  private peerMaxBytes: number | undefined;
  /** Whether the client takes `pubs` frames (`hello.pubs`): a turn's shared message has them. */
  takesPubs = false;

  /**
   * {@link wakeWaiters} bound to this writer, handed to every write: a bound function
   * (48 bytes) rather than an arrow field (a closure and its context, 96 bytes).
   */
  private readonly wake: () => void = this.wakeWaiters.bind(this);

  constructor(
    private readonly ws: TetherSocket,
    private readonly host: WriterHost,
    private readonly owner: WriterOwner,
  ) {}

  /** Frames written so far (a batch counts each frame in it). */
  get messagesOut(): number {
    return this.sentMessages;
  }

  /** Bytes written so far. */
  get bytesOut(): number {
    return this.sentBytes;
  }

  /**
   * The client's own message limit from `hello.maxMessageBytes`: from now on no message
   * to it is larger (batches are cut by UTF-8 bytes; a single larger frame is replaced).
   * A limit at or above the server's `maxMessageBytes` changes nothing.
   */
  limitTo(maxMessageBytes: number | undefined): void {
    this.peerMaxBytes =
      maxMessageBytes !== undefined && maxMessageBytes < this.host.options.maxMessageBytes
        ? maxMessageBytes
        : undefined;
  }

  /** Bytes held for this client: unsent by the socket plus queued for the next write. */
  get pendingBytes(): number {
    return this.ws.bufferedAmount + this.queuedBytes + (this.seat?.turn?.bytes ?? 0);
  }

  /** Whether `bytes` more may be queued by a replay (which leaves half the limit to live traffic). */
  roomFor(bytes: number): boolean {
    const pending = this.pendingBytes;
    return pending === 0 || pending + bytes <= this.host.options.slowConsumerBytes / 2;
  }

  /**
   * Resolves after the next write completed or the connection closed, with whether it is
   * still open. A replay calls it while {@link roomFor} says no, and checks again.
   */
  whenWritable(): Promise<boolean> {
    if (!this.writable()) return Promise.resolve(false);
    return new Promise((resolve) => {
      const first = this.waiters === undefined;
      this.waiters ??= [];
      this.waiters.push(() => resolve(this.writable()));
      // Raw writes made while nobody waited have no callback: ask for one behind them.
      // With frames queued, their flush (this turn) carries it.
      if (first && (this.queue?.length ?? 0) === 0) this.ws.afterWrites(this.wake);
    });
  }

  /**
   * The callback for a write: none while no replay waits for room and the write is raw
   * (a callback per write costs Node a tick and an object on every socket of a fan-out).
   */
  private writeDone(): (() => void) | undefined {
    return this.waiters === undefined && this.ws.rawWrites ? undefined : this.wake;
  }

  /**
   * Queues an encoded frame; `bytes` is its UTF-8 length when the caller knows it.
   * Returns false when it was not queued: the connection is closing, or the frame would
   * push what is held for the client past `slowConsumerBytes` (the owner is told).
   */
  offer(encoded: string, bytes = Buffer.byteLength(encoded), schedule = true): boolean {
    if (this.seat !== undefined) this.leaveTurn();
    const state = this.owner.state;
    if (state === 'closing' || state === 'closed') return false;
    if (this.peerMaxBytes !== undefined && bytes > this.peerMaxBytes) {
      return this.owner.tooBigForPeer(encoded, bytes, this.peerMaxBytes);
    }
    const pending = this.pendingBytes;
    if (pending > 0 && pending + bytes > this.host.options.slowConsumerBytes) {
      this.owner.slowConsumer(pending + bytes);
      return false;
    }
    this.push(encoded, bytes, schedule);
    return true;
  }

  /**
   * Queues a reply like {@link offer}, and writes it at once when it is all there is to
   * write: a request/reply round trip then does not wait for the end of the turn. Behind
   * frames already queued it keeps its place in their batch.
   */
  reply(encoded: string): boolean {
    if (this.seat !== undefined) this.leaveTurn();
    const alone = (this.queue?.length ?? 0) === 0 && this.owner.state === 'open';
    // Alone: not scheduled for the end of the turn (no immediate to run for nothing).
    if (!this.offer(encoded, undefined, !alone)) return false;
    if (alone && this.queue?.length === 1) this.flush();
    return true;
  }

  /**
   * Queues a frame past the slow-consumer check: a closing connection still says why.
   * `schedule` false: the caller flushes at once (a reply), the turn's flush is not needed.
   */
  push(encoded: string, bytes = Buffer.byteLength(encoded), schedule = true): void {
    if (this.seat !== undefined) this.leaveTurn();
    this.queue ??= [];
    this.queue.push(encoded);
    this.queuedBytes += bytes;
    const { maxMessageBytes, slowConsumerBytes } = this.host.options;
    if (
      this.queuedBytes >= Math.min(maxMessageBytes, slowConsumerBytes / 4) &&
      this.owner.state === 'open'
    ) {
      // A full batch is waiting: write it now rather than at the end of the tick, so a
      // burst within one tick reaches the kernel and only a client that really stops
      // reading shows up as unsent bytes.
      this.host.flusher.forget(this);
      this.flush();
    } else if (schedule && this.queue.length === 1) {
      this.host.flusher.mark(this);
    }
  }

  /**
   * Schedules a cumulative ack; several in one tick leave as one `ack` frame. `again`
   * re-sends an ack already sent (the client resent a message: its ack was lost).
   */
  ack(seq: number, again = false): void {
    if (seq > this.pendingAck) this.pendingAck = seq;
    else if (again) this.ackSent = Math.min(this.ackSent, seq - 1);
    else return;
    // Acks ride along with any frame written before the delay ends.
    if (this.pendingAck - this.ackSent >= this.host.options.ackEvery) this.host.flusher.mark(this);
    else this.host.acks.mark(this);
  }

  /** Writes everything queued: one WebSocket message per batch of up to `maxBatch` frames. */
  flush(): void {
    if (this.seat !== undefined) this.leaveTurn();
    let queuedBytes = this.queuedBytes;
    if (this.pendingAck > this.ackSent && this.owner.state !== 'closed') {
      this.ackSent = this.pendingAck;
      const ack = encodeFrame({ t: 'ack', seq: this.pendingAck });
      this.queue ??= [];
      this.queue.push(ack);
      queuedBytes += ack.length; // ASCII
    }
    const frames = this.queue;
    if (frames === undefined || frames.length === 0) return;
    this.queue = undefined;
    this.queuedBytes = 0;
    if (this.ws.readyState !== TetherSocket.OPEN) return;
    const { maxBatch, maxMessageBytes } = this.host.options;
    const peerMax = this.peerMaxBytes;
    // The common case, a queue that fits one message: the same frames on many connections
    // in this turn (a fan-out) are joined and encoded once, the same bytes sent to each.
    if (
      peerMax === undefined &&
      frames.length <= maxBatch &&
      queuedBytes + frames.length + 1 <= maxMessageBytes
    ) {
      const shared = this.host.flusher.sharedMessage(frames, () => joinEncoded(frames));
      if (shared !== undefined) {
        this.sendShared(shared, frames.length);
        return;
      }
    }
    try {
      if (frames.length === 1) {
        // One frame (a reply, an ack): written as it is, a batch of one in any case.
        this.sendMessage(frames[0] as string, 1, queuedBytes);
        return;
      }
      for (const batch of peerMax === undefined
        ? batches(frames, maxBatch, maxMessageBytes)
        : batches(frames, maxBatch, peerMax, utf8Bytes)) {
        // The frames' UTF-8 bytes are counted already; one batch of all of them (the usual
        // case) adds only `[`, `]` and commas, so the message need not be measured again.
        const bytes =
          batch.frames === frames.length
            ? queuedBytes + (frames.length > 1 ? frames.length + 1 : 0)
            : Buffer.byteLength(batch.message);
        this.sendMessage(batch.message, batch.frames, bytes);
      }
    } catch (err) {
      this.host.logger.error(
        { cid: this.owner.id, err: err instanceof Error ? err.message : String(err) },
        'send failed',
      );
      this.ws.terminate();
    }
  }

  joinTurn(seat: TurnSeat, bytes: number): number {
    const standing = this.seat;
    if (standing !== undefined) {
      // Seated in a batch still open (this turn's publications of another topic): no.
      if (standing.turn?.openBatch !== undefined) return -1;
      // Standing in another topic's lane with nothing pending there: it moves here.
      this.standDown();
    }
    if (
      (this.queue?.length ?? 0) > 0 ||
      this.peerMaxBytes !== undefined ||
      this.owner.state !== 'open' ||
      this.ws.readyState !== TetherSocket.OPEN
    ) {
      return -1;
    }
    // Over the slow-consumer limit: the usual way refuses it and closes with 4009.
    const pending = this.ws.bufferedAmount;
    const room = this.host.options.slowConsumerBytes - pending;
    if (pending > 0 && bytes > room) return -1;
    this.seat = seat;
    // With nothing held, one frame always goes (it may be larger than the limit).
    return Math.max(room, bytes);
  }

  leaveTurn(): void {
    const batch = this.seat?.turn?.openBatch;
    this.standDown();
    if (batch === undefined) return;
    // Each frame of the open batch as if offered now: slow-consumer check, batching.
    for (const { frame, bytes } of batch.deliveries) if (!this.offer(frame, bytes)) return;
  }

  writeTurn(seat: TurnSeat, batch: TurnBatch): number {
    // Still seated: still open (a close leaves the lane first, see ConnectionClose).
    if (this.seat !== seat) return -1;
    if (this.ws.readyState !== TetherSocket.OPEN) {
      this.standDown();
      return -1;
    }
    const { maxBatch, maxMessageBytes, slowConsumerBytes } = this.host.options;
    const count = batch.deliveries.length;
    // Nothing else was written to this connection since it sat down (that makes it
    // leave): only the socket's unsent bytes count against the limit.
    const pending = this.ws.bufferedAmount;
    const room = slowConsumerBytes - pending - batch.bytes;
    if (
      this.pendingAck <= this.ackSent &&
      count <= maxBatch &&
      batch.bytes + count + 1 <= maxMessageBytes &&
      (pending === 0 || room >= 0)
    ) {
      this.sendShared(this.takesPubs ? batch.pubsMessage() : batch.message(), count);
      // The next batch's room, as if none of this one reached the kernel yet.
      return Math.max(room, 0);
    }
    // Not as one shared message here (this endpoint's limits, an ack to ride along, a
    // socket near its limit): it leaves the lane and the frames go the usual way, each
    // checked against the limit, written now.
    this.standDown();
    for (const { frame, bytes } of batch.deliveries) if (!this.offer(frame, bytes, false)) break;
    this.flush();
    return -1;
  }

  /** Leaves the lane between batches: nothing is pending there for this connection. */
  private standDown(): void {
    const seat = this.seat;
    this.seat = undefined;
    seat?.settle();
  }

  /** Writes `message` (`frames` frames joined, `bytes` UTF-8 bytes) as one WebSocket message. */
  private sendMessage(message: string, frames: number, bytes: number): void {
    // The callback runs once the bytes reached the kernel: replays waiting for room go on.
    this.ws.sendText(message, bytes, this.writeDone());
    this.sentMessages += frames;
    this.sentBytes += bytes;
    this.host.counters.sent(frames, bytes);
  }

  private sendShared(shared: SharedMessage, frames: number): void {
    const { data } = shared;
    try {
      // Framed once for every socket that gets it: one write of the same bytes each.
      this.ws.sendFramed(shared.frame, data, this.writeDone());
    } catch (err) {
      this.host.logger.error(
        { cid: this.owner.id, err: err instanceof Error ? err.message : String(err) },
        'send failed',
      );
      this.ws.terminate();
      return;
    }
    this.sentMessages += frames;
    this.sentBytes += data.length;
    this.host.counters.sent(frames, data.length);
  }

  /**
   * Drops what is queued (nothing once flushed), stops scheduled writes and wakes waiting
   * replays: the connection is closing or closed.
   */
  discard(): void {
    this.standDown();
    this.queue = undefined;
    this.queuedBytes = 0;
    this.host.flusher.forget(this);
    this.host.acks.forget(this);
    this.wake();
  }

  private writable(): boolean {
    return this.owner.state === 'open' && !this.owner.closeStarted;
  }

  /** Wakes the replays waiting for room (ws's write callback: the bytes reached the kernel). */
  private wakeWaiters(): void {
    const waiters = this.waiters;
    if (waiters === undefined || waiters.length === 0) return;
    this.waiters = undefined;
    for (const wake of waiters) wake();
  }
}
