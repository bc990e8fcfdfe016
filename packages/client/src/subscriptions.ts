import { type Clock, type Emitter, type TetherError, Timer } from '@tether/common';
import {
  type ClientFrame,
  isValidTopic,
  type PubFrame,
  type SubscribedFrame,
  type UnsubscribedFrame,
} from '@tether/protocol';
import { DuplicateSubscriptionError, SequenceGapError, type ServerError } from './errors.js';
import type { ClientEventMap } from './events.js';
import { Subscription } from './subscription.js';
import { type SubscribeOptions, TopicStream } from './topic-stream.js';

/** What the registry needs from the client. */
export interface SubscriptionsHost {
  events: Emitter<ClientEventMap>;
  sendControl(frame: ClientFrame): void;
  /** `welcome` arrived on the current connection. */
  isReady(): boolean;
  /** A publication skipped ahead: resume the connection. */
  sequenceGap(error: SequenceGapError): void;
}

interface Options {
  iteratorBufferSize: number;
  rateLimitedRetryMs: number;
}

/** Validates `subscribe()`'s arguments; throws a RangeError naming the bad one. */
function checkSubscribe(topic: string, options: SubscribeOptions): void {
  if (typeof topic !== 'string' || !isValidTopic(topic)) {
    throw new RangeError(
      `subscribe(): topic must be 1-256 characters of A-Z a-z 0-9 _ - . : / @ # = +, got ${JSON.stringify(topic)}`,
    );
  }
  const { last, from } = options;
  if (last !== undefined && (!Number.isSafeInteger(last) || last < 0)) {
    throw new RangeError(`subscribe(): last must be an integer >= 0, got ${String(last)}`);
  }
  if (
    from !== undefined &&
    (typeof from !== 'object' ||
      typeof from.epoch !== 'string' ||
      from.epoch.length === 0 ||
      from.epoch.length > 512 ||
      !Number.isSafeInteger(from.offset) ||
      from.offset < 0)
  ) {
    throw new RangeError(
      'subscribe(): from must be { epoch: non-empty string, offset: integer >= 0 }',
    );
  }
}

/**
 * The client's topic subscriptions: sends `sub` when a subscription is made
 * and again after every `welcome` (from each one's position), routes
 * `subscribed`, `pub` and `unsubscribed` frames and topic errors to them,
 * retries a subscribe the server dropped with RATE_LIMITED, and pairs `unsub`
 * with its answer (so that an unsubscribe followed by a new subscribe to the
 * same topic does not confuse the two).
 */
export class Subscriptions {
  private readonly byTopic = new Map<string, { stream: TopicStream; facade: Subscription }>();
  /** Answers (`unsubscribed` or NOT_SUBSCRIBED) awaited per topic, oldest first. */
  private readonly leaving = new Map<string, Array<() => void>>();
  private readonly retry = new Set<string>();
  private readonly retryTimer: Timer;

  constructor(
    private readonly host: SubscriptionsHost,
    private readonly options: Options,
    clock: Clock,
  ) {
    this.retryTimer = new Timer('tether.client.resubscribe', clock);
  }

  get size(): number {
    return this.byTopic.size;
  }

  subscribe(topic: string, options: SubscribeOptions): Subscription {
    checkSubscribe(topic, options);
    if (this.byTopic.has(topic)) throw new DuplicateSubscriptionError(topic);
    const stream = new TopicStream(topic, options, this.options.iteratorBufferSize);
    const facade = new Subscription(stream, (s) => this.leave(s));
    this.byTopic.set(topic, { stream, facade });
    if (this.host.isReady()) this.host.sendControl(stream.subFrame());
    return facade;
  }

  get(topic: string): Subscription | undefined {
    return this.byTopic.get(topic)?.facade;
  }

  all(): Subscription[] {
    return [...this.byTopic.values()].map((s) => s.facade);
  }

  /** `welcome` arrived: subscribe again to every topic, from its position. */
  opened(): void {
    for (const { stream } of this.byTopic.values()) this.host.sendControl(stream.subFrame());
  }

  /** The connection is gone: subscriptions wait for the next `welcome`; pending unsubscribes are done. */
  connectionEnded(): void {
    this.retryTimer.clear();
    this.retry.clear();
    for (const { stream } of this.byTopic.values()) stream.connectionEnded();
    const waiting = [...this.leaving.values()].flat();
    this.leaving.clear();
    for (const done of waiting) done();
  }

  /** The client closed: every subscription ends. */
  closeAll(reason: string, error?: TetherError): void {
    this.connectionEnded();
    const all = [...this.byTopic.values()];
    this.byTopic.clear();
    for (const { stream } of all) stream.end(reason, error);
  }

  onSubscribed(frame: SubscribedFrame): void {
    // Until the answer to an `unsub` arrives, frames of the topic belong to the old subscription.
    if (this.leaving.has(frame.topic)) return;
    const gap = this.byTopic.get(frame.topic)?.stream.subscribed(frame);
    if (gap) this.host.events.emit('gap', gap);
  }

  onPub(frame: PubFrame): void {
    const entry = this.byTopic.get(frame.topic);
    if (!entry || this.leaving.has(frame.topic)) return;
    const skipped = entry.stream.skippedTo(frame);
    if (skipped) this.host.events.emit('gap', skipped);
    const result = entry.stream.pub(frame);
    if (typeof result === 'string') return;
    if (result instanceof SequenceGapError) this.host.sequenceGap(result);
    else this.host.events.emit('pub', result);
  }

  onUnsubscribed(frame: UnsubscribedFrame): void {
    const waiting = this.leaving.get(frame.topic);
    if (frame.reason === undefined && waiting && waiting.length > 0) {
      this.answered(frame.topic);
      return;
    }
    // Ended by the server (permission revoked, ...): not resubscribed.
    const entry = this.byTopic.get(frame.topic);
    if (!entry) return;
    this.byTopic.delete(frame.topic);
    entry.stream.end(frame.reason ?? 'ended by the server');
  }

  /** A topic `error` frame (`ref.t` `sub` or `unsub`); false when it is not about a subscription. */
  onError(error: ServerError): boolean {
    const ref = error.ref;
    const topic = ref?.topic;
    if (!ref || topic === undefined) return false;
    if (ref.t === 'pub' && error.code === 'TOO_BIG') {
      this.byTopic.get(topic)?.stream.tooBig();
      return true;
    }
    if (ref.t === 'unsub') {
      this.answered(topic);
      return true;
    }
    if (ref.t !== 'sub') return false;
    const entry = this.byTopic.get(topic);
    if (!entry || entry.stream.isLive) return true;
    if (error.retryable) {
      // Dropped, not refused (RATE_LIMITED): subscribe again a little later.
      this.retry.add(topic);
      if (!this.retryTimer.active)
        this.retryTimer.start(this.options.rateLimitedRetryMs, () => this.retrySubscribes());
      return true;
    }
    this.byTopic.delete(topic);
    entry.stream.end(error.code, error);
    return true;
  }

  private retrySubscribes(): void {
    const topics = [...this.retry];
    this.retry.clear();
    if (!this.host.isReady()) return;
    for (const topic of topics) {
      const entry = this.byTopic.get(topic);
      if (entry && !entry.stream.isLive) this.host.sendControl(entry.stream.subFrame());
    }
  }

  private leave(stream: TopicStream): Promise<void> {
    const entry = this.byTopic.get(stream.topic);
    if (entry?.stream !== stream) return Promise.resolve();
    this.byTopic.delete(stream.topic);
    this.retry.delete(stream.topic);
    stream.end(undefined);
    if (!this.host.isReady()) return Promise.resolve();
    this.host.sendControl({ t: 'unsub', topic: stream.topic });
    return new Promise<void>((resolve) => {
      const list = this.leaving.get(stream.topic) ?? [];
      list.push(resolve);
      this.leaving.set(stream.topic, list);
    });
  }

  private answered(topic: string): void {
    const list = this.leaving.get(topic);
    const done = list?.shift();
    if (list && list.length === 0) this.leaving.delete(topic);
    done?.();
  }
}
