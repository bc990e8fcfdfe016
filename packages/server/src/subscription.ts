import type { Publication, PublicationEncoder } from './store/index.js';
import type { SubscribeContext, Subscriber } from './topics.js';

/** A publication as fanned out: its position and its `pub` frame, encoded once. */
export interface Delivery {
  epoch: string;
  offset: number;
  frame: string;
  /** UTF-8 bytes of `frame`, counted once for every subscriber. */
  bytes: number;
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

/** How a live delivery went. */
export type DeliveryOutcome = 'sent' | 'skipped' | 'hole' | 'refused';

/**
 * One subscription of one connection: its position (the last publication it was sent),
 * and while it catches up, the live publications held aside for when the replay ends.
 * The held ones are bounded by the slow-consumer limit; past it they are dropped and
 * the replay reads them from the store instead (`overflowed`).
 */
export class Subscription {
  live = false;
  epoch = '';
  offset = 0;
  private held: Delivery[] = [];
  private heldBytes = 0;
  private overflowed = false;

  constructor(
    readonly subscriber: Subscriber,
    readonly topic: string,
    readonly context: SubscribeContext,
  ) {}

  /** The snapshot was read and `subscribed` sent: replay from `start`. */
  begin(snapshot: SubscriptionSnapshot): void {
    this.epoch = snapshot.epoch;
    this.offset = snapshot.start;
  }

  /** A replay (re)starts: live publications wait until it has caught up. */
  catchingUp(): void {
    this.live = false;
  }

  /** The replay sent the publication at `epoch`/`offset`. */
  replayed(epoch: string, offset: number): void {
    this.epoch = epoch;
    this.offset = offset;
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
    this.epoch = delivery.epoch;
    this.offset = delivery.offset;
    return 'sent';
  }
}
