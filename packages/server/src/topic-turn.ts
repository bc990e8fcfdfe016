import { joinEncoded } from '@tether/protocol';
import { SERVER_DEFAULTS } from './defaults.js';
import type { Flushable, FlushScheduler, SharedMessage } from './flush-scheduler.js';
import { type Delivery, pubsFrames, type Subscription } from './subscription.js';
import { textFrame } from './tether-socket.js';
import type { Subscriber } from './topic-types.js';

/**
 * A subscription that takes a topic turn's frames as one shared message: the
 * {@link Subscription} (its position is the turn's while it sits in it).
 */
export interface TurnSeat {
  /** The turn it sits in; undefined once it left. */
  readonly turn: TopicTurn | undefined;
  /** Leaves the turn: its position becomes the turn's newest publication. */
  settle(): void;
}

/** The write path's side of a turn (the connection's writer). */
export interface TurnWriter {
  /**
   * Seats `seat` when the connection has nothing of its own to write and may take a
   * shared message (no `hello.maxMessageBytes`, open, under the slow-consumer limit with
   * `bytes` more). A seat it keeps in another topic's lane, with nothing pending there,
   * is given up for this one. Returns how many bytes the batch may hold for it before
   * what it holds would pass `slowConsumerBytes`; -1: not seated, the publication goes
   * the usual way.
   */
  joinTurn(seat: TurnSeat, bytes: number): number;
  /** Anything else for the connection: the open batch's frames so far are queued first (order). */
  leaveTurn(): void;
  /**
   * A batch ends: its shared message is written, or its frames go the usual way (the
   * connection closing, an ack to ride along, what the socket holds near its limit), and
   * then the connection leaves the lane. Returns how many bytes the next batch may hold
   * for it (as {@link joinTurn}); -1 once it left.
   */
  writeTurn(seat: TurnSeat, batch: TurnBatch): number;
}

/** A batch holds at most this many frames / bytes; past it, it is written and a new one starts. */
const TURN_FRAMES = SERVER_DEFAULTS.maxBatch;
const TURN_BYTES = SERVER_DEFAULTS.maxMessageBytes / 2;

/** The publications of one topic fanned out within one event-loop turn. */
export class TurnBatch {
  /** The publications, in order (each its `pub` frame and that frame's UTF-8 bytes). */
  readonly deliveries: Delivery[] = [];
  /** UTF-8 bytes of all frames. */
  bytes = 0;
  private shared: SharedMessage | undefined;
  private sharedPubs: SharedMessage | undefined;

  push(delivery: Delivery): void {
    this.deliveries.push(delivery);
    this.bytes += delivery.bytes;
  }

  /** The shared message (the frames joined, UTF-8, framed), built once. */
  message(): SharedMessage {
    if (this.shared === undefined) {
      const data = Buffer.from(joinEncoded(this.deliveries.map((d) => d.frame)));
      this.shared = { data, frame: textFrame(data) };
    }
    return this.shared;
  }

  /**
   * The shared message for clients that take `pubs` frames (`hello.pubs`): the batch's
   * publications of one time as one `pubs` frame, built once; the same bytes as
   * {@link message} where that saves nothing (a single publication).
   */
  pubsMessage(): SharedMessage {
    if (this.sharedPubs === undefined) {
      const frames = pubsFrames(this.deliveries);
      if (frames.length === this.deliveries.length) this.sharedPubs = this.message();
      else {
        const data = Buffer.from(joinEncoded(frames));
        this.sharedPubs = { data, frame: textFrame(data) };
      }
    }
    return this.sharedPubs;
  }
}

/**
 * A topic's lane: the subscriptions that take its publications as one shared message
 * per event-loop turn, each recorded once for all of them. At the flush every seat gets
 * the same message, joined, converted and framed once, in one write. Without it, each
 * publication of a burst was offered to every subscriber's own queue (bursts of 20 to
 * 1,000 subscribers: 20,000 offers per burst) and compared there.
 *
 * Seats stand from turn to turn: a publication that follows the lane's newest one
 * opens the next batch for all of them at once, so a topic whose subscribers only take
 * its publications costs nothing per subscriber until the flush. Only subscriptions
 * that are live and follow the batch's first publication take a seat; the others
 * (catching up, a hole, a queue of their own, a client message limit) take each
 * publication the usual way. Anything else written to a seated connection, an
 * unsubscribe, a resubscribe or a replay makes it leave first: the open batch's frames
 * so far go into its own queue, ahead of what follows. A publication that does not
 * follow the lane (a new epoch, a gap) ends it: every seat leaves at the lane's newest.
 */
export class TopicTurn implements Flushable {
  epoch: string;
  /** The newest publication's offset (written or in the open batch). */
  offset: number;
  /** This event-loop turn's publications; undefined between turns. */
  private batch: TurnBatch | undefined;
  private seats: Subscription[] = [];
  /**
   * Each seat's writer, beside it: the flush goes straight to the writers (a writer
   * whose seat is no longer the subscription listed writes nothing), without reading
   * each subscription and connection on the way.
   */
  private writers: TurnWriter[] = [];
  /** Seats not left yet. */
  private sitting = 0;
  /**
   * The least any seat may take in a batch before what it holds passes its slow-consumer
   * limit: from each seat's socket when it sat down or was last written to (nothing else
   * is written to a seated connection, and what a socket holds only drains meanwhile).
   */
  private room = Number.POSITIVE_INFINITY;

  constructor(
    first: Delivery,
    private readonly flusher: FlushScheduler,
  ) {
    this.epoch = first.epoch;
    this.offset = first.offset;
    const batch = new TurnBatch();
    batch.push(first);
    this.batch = batch;
  }

  /** Subscriptions seated and not left. */
  get seated(): number {
    return this.sitting;
  }

  /** UTF-8 bytes of the open batch (held for each seat until the flush). */
  get bytes(): number {
    return this.batch?.bytes ?? 0;
  }

  /** The open batch (publications of this turn not written yet), if any. */
  get openBatch(): TurnBatch | undefined {
    return this.batch;
  }

  /**
   * A seat left (its subscription settled). The list drops the seats left once they
   * are half of it, so a lane whose topic falls quiet holds no more than twice the
   * subscriptions still seated (with their connections) until its next publication.
   */
  released(): void {
    this.sitting -= 1;
    if (this.sitting * 2 < this.seats.length) this.compact();
  }

  /** Whether `delivery` continues the open batch (the next offset, room left). */
  continuedBy(delivery: Delivery): boolean {
    const batch = this.batch;
    return (
      batch !== undefined &&
      this.follows(delivery) &&
      batch.deliveries.length < TURN_FRAMES &&
      batch.bytes + delivery.bytes <= Math.min(TURN_BYTES, this.room)
    );
  }

  /** Whether `delivery` is the lane's next publication (same epoch, next offset). */
  follows(delivery: Delivery): boolean {
    return delivery.epoch === this.epoch && delivery.offset === this.offset + 1;
  }

  /** A publication that continues the open batch, or opens the next one: every seat gets it. */
  add(delivery: Delivery): void {
    this.offset = delivery.offset;
    if (this.batch === undefined) {
      // Seats are taken at a batch's first publication: the ones left go first, so a
      // subscription that left and sits down again is listed once.
      this.compact();
      this.batch = new TurnBatch();
      if (this.sitting > 0) this.flusher.mark(this);
    }
    this.batch.push(delivery);
  }

  /** Tries to seat a live subscription that follows the open batch's first publication. */
  seat(sub: Subscription): boolean {
    const writer = sub.subscriber.writer;
    const room = writer.joinTurn(sub, this.bytes);
    if (room < 0) return false;
    if (room < this.room) this.room = room;
    sub.sit(this);
    this.seats.push(sub);
    this.writers.push(writer);
    this.sitting += 1;
    if (this.sitting === 1 && this.batch !== undefined) this.flusher.mark(this);
    return true;
  }

  /** Writes the open batch now (a publication that does not continue it, or it is full). */
  end(): void {
    if (this.batch === undefined) return;
    this.flusher.forget(this);
    this.flush();
  }

  /** The lane ends (a publication that does not follow it): every seat leaves. */
  retire(): void {
    this.end();
    for (const sub of this.seats) if (sub.turn === this) unseat(sub);
    this.seats = [];
    this.writers = [];
  }

  /** The flush: every subscription still seated gets the open batch's message. */
  flush(): void {
    const batch = this.batch;
    if (batch === undefined) return;
    this.batch = undefined;
    let room = Number.POSITIVE_INFINITY;
    const { seats, writers } = this;
    for (let i = 0; i < seats.length; i += 1) {
      // -1 from a seat left already (with the frames of its time) or leaving now.
      const left = (writers[i] as TurnWriter).writeTurn(seats[i] as Subscription, batch);
      if (left >= 0 && left < room) room = left;
    }
    this.room = room;
    this.compact();
  }

  /** Drops the seats that were left from the list. */
  private compact(): void {
    if (this.sitting === this.seats.length) return;
    const seats: Subscription[] = [];
    const writers: TurnWriter[] = [];
    for (let i = 0; i < this.seats.length; i += 1) {
      const sub = this.seats[i] as Subscription;
      if (sub.turn !== this) continue;
      seats.push(sub);
      writers.push(this.writers[i] as TurnWriter);
    }
    this.seats = seats;
    this.writers = writers;
  }
}

/** Makes `sub` leave its turn: the frames so far go into its connection's queue. */
export function unseat(sub: Subscription | undefined): void {
  if (sub?.turn === undefined) return;
  sub.subscriber.writer.leaveTurn();
  // A connection that dropped its seat (closing) leaves the position where the turn is.
  sub.settle();
}

/** A topic's subscribers and its current turn, as fan-out needs them. */
export interface TurnTarget {
  subs: Map<Subscriber, Subscription>;
  turn: TopicTurn | undefined;
}

/**
 * Fans `delivery` out to `target`'s subscribers: recorded once in the topic's lane for
 * those seated in it (a publication that follows the lane), seating those that can be
 * (a publication that opens a batch), the usual way for the others. `hole`: a live
 * subscription missed publications and must catch up. Returns how many got it.
 */
export function fanOutTurn(
  target: TurnTarget,
  delivery: Delivery,
  flusher: FlushScheduler,
  hole: (sub: Subscription) => Promise<void>,
): number {
  let lane = target.turn;
  /** Whether `delivery` opens a batch: live subscriptions that follow it may take a seat. */
  let opens = false;
  if (lane !== undefined) {
    if (lane.continuedBy(delivery)) lane.add(delivery);
    else {
      lane.end();
      if (lane.seated > 0 && lane.follows(delivery)) {
        lane.add(delivery);
        opens = true;
      } else {
        lane.retire();
        lane = undefined;
      }
    }
    // Every subscriber sits in the lane (the usual case): nothing to do for each.
    if (lane !== undefined && lane.seated === target.subs.size) return lane.seated;
  }
  if (lane === undefined) {
    lane = new TopicTurn(delivery, flusher);
    opens = true;
  }
  let delivered = 0;
  for (const sub of target.subs.values()) {
    if (sub.turn === lane) delivered += 1;
    else if (!sub.live) sub.hold(delivery);
    else if (opens && sub.follows(delivery) && lane.seat(sub)) delivered += 1;
    else {
      const outcome = sub.deliver(delivery);
      if (outcome === 'sent') delivered += 1;
      else if (outcome === 'hole') void hole(sub);
    }
  }
  target.turn = lane.seated > 0 ? lane : undefined;
  return delivered;
}
