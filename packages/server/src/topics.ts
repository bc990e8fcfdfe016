import type { Clock } from '@tether/common';
import { CloseCode, ErrorCode, isValidTopic, type Json, type Position } from '@tether/protocol';
import { SERVER_DEFAULTS } from './defaults.js';
import { encodeData } from './encode-data.js';
import type { FlushScheduler } from './flush-scheduler.js';
import { errorFrame, errorMessage } from './frame-errors.js';
import type { Logger } from './logger.js';
import { ReplayLanes } from './replay-lanes.js';
import type { Publication, Store } from './store/index.js';
import {
  type Delivery,
  deliveryOf,
  pubEncoder,
  Subscription,
  type SubscriptionSnapshot,
} from './subscription.js';
import { TopicRelay } from './topic-relay.js';
import { fanOutTurn, type TopicTurn, unseat } from './topic-turn.js';
import {
  type PublishResult,
  type SubscribeContext,
  type SubscribeRequest,
  type Subscriber,
  TopicError,
  type TopicStats,
  type Topics,
} from './topic-types.js';

export type { PublishResult, SubscribeContext, SubscribeRequest, Subscriber, TopicStats, Topics };
export { TopicError };

interface TopicState {
  subs: Map<Subscriber, Subscription>;
  /** The newest publication fanned out here since this state exists. */
  head: Position | undefined;
  /** This event-loop turn's publications, shared by the subscribers seated in it. */
  turn: TopicTurn | undefined;
}

/**
 * Topics with history, backed by the server's store. Every publication is committed to
 * the store first (which assigns its epoch and offset), then its `pub` frame, encoded
 * once, is queued to every live subscriber of this process: the same string for all.
 *
 * A new subscription is registered before anything is read from the store, in a
 * catching-up state that holds live publications aside (bounded; past the bound it
 * reads the store instead). It gets `subscribed`, then the replay page by page as its
 * socket makes room, then what was held aside, then live ones: a publication racing
 * the subscribe is neither skipped nor sent twice. Only topics with local subscribers
 * are kept in memory; epochs, offsets and history live in the store.
 *
 * Replays are bounded per connection, whatever the client asks for: a page holds at
 * most `replayPageBytes` (and `replayPageSize` publications), a page is read only once
 * what the connection holds for the client is under a page, and the pages of one
 * connection's replays are read and sent one at a time, in turn. A client that asks for
 * every history and stops reading holds about one page here.
 */
export class TopicHub implements Topics {
  private readonly topics = new Map<string, TopicState>();
  /** Each connection's replay steps, one at a time. */
  private readonly lanes = new ReplayLanes<Subscriber>();
  private publications = 0;
  private subscriptions = 0;
  /** Publications of other processes sharing the store (a no-op without a shared store). */
  private readonly relay: TopicRelay;

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly flusher: FlushScheduler,
  ) {
    this.relay = new TopicRelay(store.shared, {
      publication: (topic, delivery) => this.fanOut(topic, delivery),
      reconnected: () => this.resync(),
    });
  }

  /** Stops listening to the store (the server closes). */
  dispose(): void {
    this.relay.dispose();
  }

  publish(topic: string, data: Json): Promise<PublishResult> {
    if (typeof topic !== 'string' || !isValidTopic(topic)) {
      return Promise.reject(
        new TopicError('INVALID_TOPIC', `invalid topic name "${String(topic).slice(0, 64)}"`),
      );
    }
    let encoded: string;
    try {
      encoded = encodeData(data, (message) => new TopicError('INVALID_PAYLOAD', message));
    } catch (err) {
      return Promise.reject(err);
    }
    const encode = pubEncoder(topic);
    return this.store.appendPublication(topic, encoded, this.clock.now(), encode).then((pub) => {
      this.publications += 1;
      const frame = pub.frame ?? encode(pub);
      const delivered = this.fanOut(topic, deliveryOf(topic, pub, frame));
      return { epoch: pub.epoch, offset: pub.offset, delivered };
    });
  }

  subscribe(
    subscriber: Subscriber,
    topic: string,
    request: SubscribeRequest,
    context: SubscribeContext,
  ): void {
    let state = this.topics.get(topic);
    if (state === undefined) {
      state = { subs: new Map(), head: undefined, turn: undefined };
      this.topics.set(topic, state);
      // One subscription per topic and process, whatever the number of subscribers here.
      this.relay.listen(topic);
    }
    unseat(state.subs.get(subscriber)); // a resubscribe: the old one takes no more
    if (!state.subs.has(subscriber)) this.subscriptions += 1;
    const sub = new Subscription(subscriber, topic, context);
    state.subs.set(subscriber, sub);
    void this.start(state, sub, request);
  }

  unsubscribe(subscriber: Subscriber, topic: string): boolean {
    const state = this.topics.get(topic);
    if (state === undefined) return false;
    unseat(state.subs.get(subscriber)); // what was published before goes, in order; no more
    if (!state.subs.delete(subscriber)) return false;
    this.subscriptions -= 1;
    if (state.subs.size === 0) {
      this.topics.delete(topic);
      this.relay.stop(topic);
    }
    return true;
  }

  unsubscribeAll(subscriber: Subscriber, topics: Iterable<string>): void {
    for (const topic of topics) this.unsubscribe(subscriber, topic);
  }

  stats(): TopicStats {
    return {
      topics: this.topics.size,
      subscriptions: this.subscriptions,
      publications: this.publications,
    };
  }

  /**
   * After the shared store was unreachable: every live subscriber behind the topic's
   * head catches up from the store; one whose epoch is gone (the store came back
   * empty) is closed as fallen behind, so it resubscribes and is told `recovered: false`.
   */
  private resync(): void {
    for (const [topic, state] of this.topics) {
      this.store.topicHead(topic).then(
        (head) => {
          if (this.topics.get(topic) !== state) return;
          for (const sub of state.subs.values()) {
            if (!sub.live || !this.current(state, sub)) continue;
            if (head.epoch !== sub.epoch) this.fellBehind(sub);
            else if (head.offset > sub.offset) void this.catchUp(state, sub, head.offset);
          }
        },
        (err: unknown) =>
          this.logger.warn(
            { topic, err: errorMessage(err) },
            'topic resync after store outage failed',
          ),
      );
    }
  }

  private fanOut(topic: string, delivery: Delivery): number {
    const state = this.topics.get(topic);
    if (state === undefined) return 0;
    // Another process's copy of a publication fanned out already does not move it back.
    const head = state.head;
    if (head === undefined || head.epoch !== delivery.epoch || delivery.offset > head.offset) {
      state.head = { epoch: delivery.epoch, offset: delivery.offset };
    }
    return fanOutTurn(state, delivery, this.flusher, (sub) =>
      this.catchUp(state, sub, delivery.offset),
    );
  }

  /** Whether `sub` is still the subscriber's subscription and its connection is open. */
  private current(state: TopicState, sub: Subscription): boolean {
    return state.subs.get(sub.subscriber) === sub && sub.subscriber.state === 'open';
  }

  private async start(state: TopicState, sub: Subscription, request: SubscribeRequest) {
    let head: number | undefined;
    try {
      // The first page is read in the connection's turn too: a burst of `sub` frames
      // reads one page at a time, not one per topic at once.
      head = await this.lanes.run(sub.subscriber, async () => {
        if (!(await this.drained(state, sub))) return undefined;
        const snap = await this.snapshot(sub.topic, request, sub.context.pageBytes);
        if (!this.current(state, sub)) return undefined;
        sub.subscriber.enqueue({
          t: 'subscribed',
          topic: sub.topic,
          epoch: snap.epoch,
          offset: snap.head,
          recovered: snap.recovered,
          replay: snap.replay,
        });
        sub.begin(snap);
        return (await this.send(state, sub, snap.publications)) ? snap.head : undefined;
      });
    } catch (err) {
      if (!this.current(state, sub)) return;
      this.logger.error({ topic: sub.topic, err: errorMessage(err) }, 'subscribing failed');
      this.unsubscribe(sub.subscriber, sub.topic);
      sub.subscriber.enqueue(
        errorFrame(ErrorCode.INTERNAL, 'the server could not read the topic', {
          t: 'sub',
          topic: sub.topic,
        }),
      );
      return;
    }
    if (head !== undefined) await this.catchUp(state, sub, head);
  }

  /** The `subscribed` answer and the first page of the replay. */
  private async snapshot(
    topic: string,
    request: SubscribeRequest,
    pageBytes: number,
  ): Promise<SubscriptionSnapshot> {
    const { from } = request;
    const pageSize = SERVER_DEFAULTS.replayPageSize;
    if (from !== undefined) {
      const r = await this.store.publicationsAfter(topic, from, pageSize, pageBytes);
      if (r.recovered) {
        return {
          epoch: r.epoch,
          head: r.offset,
          recovered: true,
          start: from.offset,
          replay: r.offset - from.offset,
          publications: r.publications,
        };
      }
      // A gap: replay what is still retained of what the client missed.
      const missing = from.epoch === r.epoch ? Math.max(0, r.offset - from.offset) : r.offset;
      return this.lastOf(topic, missing, false, pageBytes, r);
    }
    const last = request.last ?? 0;
    if (last > 0) return this.lastOf(topic, last, true, pageBytes);
    const head = await this.store.topicHead(topic);
    return {
      epoch: head.epoch,
      head: head.offset,
      recovered: true,
      start: head.offset,
      replay: 0,
      publications: [],
    };
  }

  /**
   * The last `n` retained publications: only their first page is read (a client asking
   * for the last 2^53-1 gets the history page by page, not at once). Retained offsets are
   * contiguous up to the head, so the page's first offset tells how many follow.
   */
  private async lastOf(
    topic: string,
    n: number,
    recovered: boolean,
    pageBytes: number,
    known?: Position,
  ): Promise<SubscriptionSnapshot> {
    const s =
      n > 0
        ? await this.store.lastPublications(topic, n, SERVER_DEFAULTS.replayPageSize, pageBytes)
        : { epoch: known?.epoch ?? '', offset: known?.offset ?? 0, publications: [] };
    const first = s.publications[0];
    const start = first === undefined ? s.offset : first.offset - 1;
    return {
      epoch: s.epoch,
      head: s.offset,
      recovered,
      start,
      replay: s.offset - start,
      publications: s.publications,
    };
  }

  /**
   * Waits until what the connection holds for the client is under a page: the previous
   * page drained to the socket. False when the subscription ended meanwhile.
   */
  private async drained(state: TopicState, sub: Subscription): Promise<boolean> {
    while (sub.subscriber.pendingBytes > sub.context.pageBytes) {
      if (!(await sub.subscriber.whenWritable()) || !this.current(state, sub)) return false;
    }
    return this.current(state, sub);
  }

  /**
   * Queues a page of the replay, each publication as the socket makes room. False when
   * the subscription ended (or the connection refused a frame).
   */
  private async send(
    state: TopicState,
    sub: Subscription,
    items: readonly Publication[],
  ): Promise<boolean> {
    // For publications stored without their frame (built once per page, not per item).
    let encode: ((p: Publication) => string) | undefined;
    for (const p of items) {
      if (p.epoch === sub.epoch && p.offset <= sub.offset) continue;
      encode ??= pubEncoder(sub.topic);
      const frame = p.frame ?? encode(p);
      const bytes = Buffer.byteLength(frame);
      while (!sub.subscriber.roomFor(bytes)) {
        if (!(await sub.subscriber.whenWritable()) || !this.current(state, sub)) return false;
      }
      if (!this.current(state, sub) || !sub.subscriber.sendEncoded(frame, bytes)) return false;
      sub.replayed(p.epoch, p.offset);
      sub.context.counters.add('publicationsReplayed');
    }
    return this.current(state, sub);
  }

  /**
   * Reads and sends pages from the store, each in the connection's turn and once the
   * previous one drained, until the subscription reached `head`; then what was held
   * aside, then live.
   */
  private async catchUp(state: TopicState, sub: Subscription, head: number): Promise<void> {
    unseat(sub);
    sub.catchingUp();
    let target = head;
    try {
      for (;;) {
        if (!this.current(state, sub)) return;
        if (sub.offset >= target) {
          if (sub.flushHeld()) return;
          // What was held aside overflowed: live only once nothing fanned out is missing.
          const fanned = state.head;
          if (fanned === undefined || (fanned.epoch === sub.epoch && fanned.offset <= sub.offset)) {
            sub.goLive();
            return;
          }
          if (fanned.epoch !== sub.epoch) {
            this.fellBehind(sub);
            return;
          }
          target = fanned.offset;
        }
        const more = await this.lanes.run(sub.subscriber, async () => {
          if (!(await this.drained(state, sub))) return false;
          const page = await this.store.publicationsAfter(
            sub.topic,
            { epoch: sub.epoch, offset: sub.offset },
            SERVER_DEFAULTS.replayPageSize,
            sub.context.pageBytes,
          );
          if (!this.current(state, sub)) return false;
          if (!page.recovered || page.publications.length === 0) {
            this.fellBehind(sub);
            return false;
          }
          return this.send(state, sub, page.publications);
        });
        if (!more) return;
      }
    } catch (err) {
      if (!this.current(state, sub)) return;
      this.logger.error({ topic: sub.topic, err: errorMessage(err) }, 'replaying the topic failed');
      sub.subscriber.closeWith(CloseCode.INTERNAL_ERROR, 'replay failed');
    }
  }

  /**
   * The history moved past a subscription that is still catching up: it must not go on
   * as if nothing was missing. Closed as a slow consumer, it resubscribes from its
   * position and is told `recovered: false`.
   */
  private fellBehind(sub: Subscription): void {
    this.logger.info(
      { cid: sub.subscriber.id, topic: sub.topic, offset: sub.offset },
      'subscriber fell behind the topic history',
    );
    sub.context.counters.add('slowConsumers');
    sub.subscriber.closeWith(
      CloseCode.SLOW_CONSUMER,
      'slow consumer: fell behind the topic history',
    );
  }
}
