import type { Publication, PublicationEncoder } from './store/index.js';
import type { TopicTurn, TurnSeat } from './topic-turn.js';
import type { SubscribeContext, Subscriber } from './topics.js';

/** A publication as fanned out: its position and its `pub` frame, encoded once. */
export interface Delivery {
  epoch: string;
  offset: number;
  frame: string;
  /** UTF-8 bytes of `frame`, counted once for every subscriber. */
  bytes: number;
  /** Its topic, encoded data and time: what a `pubs` frame carries of it. */
  topic: string;
  /** Undefined where only the frame is known (a shared store relays some that way). */
  data: string | undefined;
  time: number;
}

/**
 * The delivery of a stored publication, its `pub` frame `frame`. A shared store relays
 * some publications as their frame alone, with `data` '' (never an encoded JSON value):
 * their data is not known here.
 */
export function deliveryOf(topic: string, pub: Publication, frame: string): Delivery {
  const { epoch, offset, time } = pub;
  const data = pub.data === '' ? undefined : pub.data;
  return { epoch, offset, frame, bytes: Buffer.byteLength(frame), topic, data, time };
}

/** What a subscribe found in the store: the `subscribed` fields and the first replay page. */
export interface SubscriptionSnapshot {
  epoch: string;
  /** The topic's newest offset when read: the replay ends here. */
  head: number;
  recovered: boolean;
  /** Offset the replay starts after. */
  start: number;
  /** Publications replayed before live ones (`subscribed.replay`). */
  replay: number;
  /** The first of them (all of them, unless there are more than a page). */
  publications: readonly Publication[];
}

/**
 * Builds the `pub` frame of a publication from its already encoded data, so the frame
 * is the same bytes live and on replay (`JSON.stringify` of the frame object, field for
 * field). Stored with the publication by the store.
 */
export function pubEncoder(topic: string): PublicationEncoder {
  const head = `{"t":"pub","topic":${JSON.stringify(topic)},"epoch":`;
  return (p) =>
    `${head}${JSON.stringify(p.epoch)},"offset":${p.offset},"data":${p.data},"time":${p.time}}`;
}

/**
 * The frames of consecutive deliveries of one topic (one epoch, consecutive offsets) for
 * a client that takes `pubs` frames: each run of one `time` as one `pubs` frame (the
 * envelope once, the data in order), a run of one as its own `pub` frame.
 */
export function pubsFrames(deliveries: readonly Delivery[]): string[] {
  const frames: string[] = [];
  let start = 0;
  for (let i = 1; i <= deliveries.length; i += 1) {
    const first = deliveries[start] as Delivery;
    const next = deliveries[i];
    if (
      next !== undefined &&
      first.data !== undefined &&
      next.data !== undefined &&
      next.time === first.time &&
      next.topic === first.topic &&
      next.epoch === first.epoch &&
      next.offset === first.offset + (i - start)
    ) {
      continue;
    }
    frames.push(i - start === 1 ? first.frame : pubsFrame(deliveries, start, i));
    start = i;
  }
  return frames;
}

function pubsFrame(deliveries: readonly Delivery[], start: number, end: number): string {
  const first = deliveries[start] as Delivery;
  let data = first.data as string;
  for (let i = start + 1; i < end; i += 1) data += `,${(deliveries[i] as Delivery).data}`;
  return `{"t":"pubs","topic":${JSON.stringify(first.topic)},"epoch":${JSON.stringify(first.epoch)},"offset":${first.offset},"data":[${data}],"time":${first.time}}`;
}

/** How a live delivery went. */
export type DeliveryOutcome = 'sent' | 'skipped' | 'hole' | 'refused';

/**
 * One subscription of one connection: its position (the last publication it was sent),
 * and while it catches up, the live publications held aside for when the replay ends.
 * The held ones are bounded by the slow-consumer limit; past it they are dropped and
 * the replay reads them from the store instead (`overflowed`).
 */
export class Subscription implements TurnSeat {
  live = false;
  private seatedIn: TopicTurn | undefined = undefined;
  private atEpoch = '';
  private at = 0;
  private held: Delivery[] = [];
  private heldBytes = 0;
  private overflowed = false;

  constructor(
    readonly subscriber: Subscriber,
    readonly topic: string,
    readonly context: SubscribeContext,
  ) {}

  /** The topic turn it takes as one shared message, while it sits in one (topic-turn.ts). */
  get turn(): TopicTurn | undefined {
    return this.seatedIn;
  }

  /** Seated in `turn`: from now its position is the turn's. */
  sit(turn: TopicTurn): void {
    this.seatedIn = turn;
  }

  /** Epoch of the last publication it was sent (or, in a turn, the turn's). */
  get epoch(): string {
    return this.seatedIn === undefined ? this.atEpoch : this.seatedIn.epoch;
  }

  /** Offset of the last publication it was sent (or, in a turn, the turn's newest). */
  get offset(): number {
    return this.seatedIn === undefined ? this.at : this.seatedIn.offset;
  }

  /** The snapshot was read and `subscribed` sent: replay from `start`. */
  begin(snapshot: SubscriptionSnapshot): void {
    this.atEpoch = snapshot.epoch;
    this.at = snapshot.start;
  }

  /** Leaves its turn: the turn's newest publication is its position. */
  settle(): void {
    const turn = this.seatedIn;
    if (turn === undefined) return;
    this.seatedIn = undefined;
    turn.released();
    this.atEpoch = turn.epoch;
    this.at = turn.offset;
  }

  /** Whether `delivery` would be sent by {@link deliver} (the next offset, or a new epoch). */
  follows(delivery: Delivery): boolean {
    return delivery.epoch !== this.epoch || delivery.offset === this.offset + 1;
  }

  /** A replay (re)starts: live publications wait until it has caught up. */
  catchingUp(): void {
    this.live = false;
  }

  /** The replay sent the publication at `epoch`/`offset`. */
  replayed(epoch: string, offset: number): void {
    this.atEpoch = epoch;
    this.at = offset;
  }

  /** A live publication while catching up: kept for later (or dropped past the bound). */
  hold(delivery: Delivery): void {
    if (this.overflowed) return;
    this.held.push(delivery);
    this.heldBytes += delivery.bytes;
    if (this.heldBytes > this.context.bufferBytes) {
      this.overflowed = true;
      this.held = [];
      this.heldBytes = 0;
    }
  }

  /**
   * The replay reached the snapshot's head: sends what was held aside and goes live.
   * False when that is not possible (the held ones overflowed, or do not continue the
   * position): the replay must go on reading the store.
   */
  flushHeld(): boolean {
    if (this.overflowed) return false;
    const held = this.held;
    this.held = [];
    this.heldBytes = 0;
    for (const delivery of held) {
      const outcome = this.deliver(delivery);
      if (outcome === 'refused') return true;
      if (outcome === 'hole') {
        this.overflowed = true;
        return false;
      }
    }
    this.live = true;
    return true;
  }

  /** Goes live with nothing held (the store replay caught up with the fan-out). */
  goLive(): void {
    this.held = [];
    this.heldBytes = 0;
    this.overflowed = false;
    this.live = true;
  }

  /**
   * Sends a live publication that follows the position. One already sent is skipped; a
   * new epoch (the topic's history restarted) is taken as it comes; a hole is reported.
   */
  deliver(delivery: Delivery): DeliveryOutcome {
    if (delivery.epoch === this.epoch) {
      if (delivery.offset <= this.offset) return 'skipped';
      if (delivery.offset !== this.offset + 1) return 'hole';
    }
    if (!this.subscriber.sendEncoded(delivery.frame, delivery.bytes)) return 'refused';
    this.atEpoch = delivery.epoch;
    this.at = delivery.offset;
    return 'sent';
  }
}
