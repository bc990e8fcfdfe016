import { joinEncoded } from '@tether/protocol';
import { SERVER_DEFAULTS } from './defaults.js';
import type { Flushable, FlushScheduler, SharedMessage } from './flush-scheduler.js';
import type { Delivery, Subscription } from './subscription.js';
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
   * `bytes` more). Returns how many bytes the turn may hold for it before what it holds
   * would pass `slowConsumerBytes`; -1: not seated, the publication goes the usual way.
   */
  joinTurn(seat: TurnSeat, bytes: number): number;
  /** Anything else for the connection: the turn's frames so far are queued first (order). */
  leaveTurn(): void;
  /** The turn ends: its shared message is written (or its frames queued, where it does not fit). */
  writeTurn(seat: TurnSeat, turn: TopicTurn): void;
}

/** A turn holds at most this many frames / bytes; past it, it is written and a new one starts. */
const TURN_FRAMES = SERVER_DEFAULTS.maxBatch;
const TURN_BYTES = SERVER_DEFAULTS.maxMessageBytes / 2;

/**
 * The publications of one topic fanned out within one event-loop turn, recorded once
 * for every subscriber that had nothing else to write when the turn began: at the flush
 * each of them gets the same message, joined, converted and framed once, in one write.
 * Without it, each publication of a burst was offered to every subscriber's own queue
 * (bursts of 20 to 1,000 subscribers: 20,000 offers per burst) and compared there.
 *
 * Only subscriptions that are live and follow the first publication sit in a turn; the
 * others (catching up, a hole, a queue of their own, a client message limit) take each
 * publication the usual way. Anything else written to a seated connection, an
 * unsubscribe, a resubscribe or a replay makes it leave first: the frames so far go into
 * its own queue, ahead of what follows, and it takes later publications the usual way.
 */
export class TopicTurn implements Flushable {
  readonly frames: string[] = [];
  /** UTF-8 bytes of each frame. */
  readonly sizes: number[] = [];
  /** UTF-8 bytes of all frames. */
  bytes = 0;
  epoch: string;
  /** The newest publication's offset. */
  offset: number;
  private readonly seats: Subscription[] = [];
  /** Seats not left yet. */
  private sitting = 0;
  /** The least any seat may take before passing its slow-consumer limit. */
  private room = Number.POSITIVE_INFINITY;
  private shared: SharedMessage | undefined;
  private ended = false;

  constructor(
    first: Delivery,
    private readonly flusher: FlushScheduler,
    private readonly onEnd: (turn: TopicTurn) => void,
  ) {
    this.epoch = first.epoch;
    this.offset = first.offset;
    this.push(first);
  }

  /** Subscriptions seated so far and not left. */
  get seated(): number {
    return this.sitting;
  }

  /** A seat left (its subscription settled). */
  released(): void {
    this.sitting -= 1;
  }

  /** Whether `delivery` continues this turn (same epoch, next offset, room left). */
  continuedBy(delivery: Delivery): boolean {
    return (
      !this.ended &&
      delivery.epoch === this.epoch &&
      delivery.offset === this.offset + 1 &&
      this.frames.length < TURN_FRAMES &&
      this.bytes + delivery.bytes <= Math.min(TURN_BYTES, this.room)
    );
  }

  /** A publication that continues the turn ({@link continuedBy}): every seat gets it. */
  add(delivery: Delivery): void {
    this.offset = delivery.offset;
    this.push(delivery);
  }

  /** Tries to seat a live subscription that follows the turn's first publication. */
  seat(sub: Subscription): boolean {
    const room = sub.subscriber.writer.joinTurn(sub, this.bytes);
    if (room < 0) return false;
    if (room < this.room) this.room = room;
    sub.sit(this);
    this.seats.push(sub);
    this.sitting += 1;
    if (this.seats.length === 1) this.flusher.mark(this);
    return true;
  }

  /** The shared message of the turn (its frames joined, UTF-8, framed), built once. */
  message(): SharedMessage {
    if (this.shared === undefined) {
      const data = Buffer.from(joinEncoded(this.frames));
      this.shared = { data, frame: textFrame(data) };
    }
    return this.shared;
  }

  /** Ends the turn now (a publication that does not continue it, or the turn is full). */
  end(): void {
    this.flusher.forget(this);
    this.flush();
  }

  /** The flush: every subscription still seated gets the turn's message. */
  flush(): void {
    if (this.ended) return;
    this.ended = true;
    this.onEnd(this);
    for (const sub of this.seats) {
      if (sub.turn !== this) continue; // left already, with the frames of its time
      sub.settle();
      sub.subscriber.writer.writeTurn(sub, this);
    }
  }

  private push(delivery: Delivery): void {
    this.frames.push(delivery.frame);
    this.sizes.push(delivery.bytes);
    this.bytes += delivery.bytes;
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
 * Fans `delivery` out to `target`'s subscribers: recorded once in the topic's turn for
 * those seated in it (a publication that continues the turn), seating those that can
 * be (a publication that starts one), the usual way for the others. `hole`: a live
 * subscription missed publications and must catch up. Returns how many got it.
 */
export function fanOutTurn(
  target: TurnTarget,
  delivery: Delivery,
  flusher: FlushScheduler,
  hole: (sub: Subscription) => Promise<void>,
): number {
  let turn = target.turn;
  if (turn?.continuedBy(delivery)) {
    turn.add(delivery);
    // Every subscriber sits in the turn (a burst's usual case): nothing to do for each.
    if (turn.seated === target.subs.size) return turn.seated;
  } else {
    turn?.end();
    turn = undefined;
  }
  const seating =
    turn === undefined
      ? new TopicTurn(delivery, flusher, (ended) => {
          if (target.turn === ended) target.turn = undefined;
        })
      : undefined;
  let delivered = 0;
  for (const sub of target.subs.values()) {
    if (sub.turn !== undefined && sub.turn === turn) delivered += 1;
    else if (!sub.live) sub.hold(delivery);
    else if (seating !== undefined && sub.follows(delivery) && seating.seat(sub)) delivered += 1;
    else {
      const outcome = sub.deliver(delivery);
      if (outcome === 'sent') delivered += 1;
      else if (outcome === 'hole') void hole(sub);
    }
  }
  if (seating !== undefined && seating.seated > 0) target.turn = seating;
  return delivered;
}
