import { Emitter, type TetherError } from '@tether/common';
import type { Position, PubFrame, SubFrame, SubscribedFrame } from '@tether/protocol';
import { SequenceGapError, SubscriptionEndedError } from './errors.js';
import { EventStream } from './event-stream.js';
import type {
  GapEvent,
  PubEvent,
  SubscribedEvent,
  TetherErrorEvent,
  UnsubscribedEvent,
} from './events.js';

/** Options of `client.subscribe(topic, options)`. */
export interface SubscribeOptions {
  /**
   * Start after this position (the last publication the application already
   * has, for example saved across a page reload): the server replays every
   * later publication, or the subscription reports a `gap`.
   */
  from?: Position;
  /** Deliver the last N publications first (ignored when `from` is given). */
  last?: number;
}

/**
 * `subscribing`: waiting for the server's `subscribed` (also again after every
 * reconnect). `subscribed`: publications flow. `unsubscribed`: ended for good
 * (by `unsubscribe()`, by the server, by a refusal, or because the client closed).
 */
export type SubscriptionState = 'subscribing' | 'subscribed' | 'unsubscribed';

/** What a subscription's async iterator yields: publications, in order, and gaps. */
export type SubscriptionItem = PubEvent | GapEvent;

/** Events of one subscription. */
export type SubscriptionEventMap = {
  pub: PubEvent;
  gap: GapEvent;
  subscribed: SubscribedEvent;
  unsubscribed: UnsubscribedEvent;
  error: TetherErrorEvent;
};

/**
 * The state of one topic subscription: its position (the last publication
 * delivered, or the point the server said delivery starts after), exactly-once
 * in-order delivery across resubscribes, and the gap signal. Knows nothing
 * about sockets; the subscription registry feeds it frames.
 */
export class TopicStream {
  readonly events = new Emitter<SubscriptionEventMap>();
  state: SubscriptionState = 'subscribing';
  /** Where delivery continues from: publications after it are new. */
  position: Position | undefined;
  /** Confirmed (`subscribed`) on the current connection: publications are delivered. */
  private live = false;
  /** `subscribed.offset` of the current connection: publications up to it are replayed. */
  private replayEnd = 0;
  private readonly streams = new Set<EventStream<SubscriptionItem>>();
  private failure: TetherError | undefined;
  private readyWaiters: Array<{
    resolve: (event: SubscribedEvent) => void;
    reject: (err: unknown) => void;
  }> = [];
  private confirmed: SubscribedEvent | undefined;
  /** Publications the server announced it skipped (TOO_BIG for `maxMessageBytes`) since the last `pub`. */
  private skipped = 0;

  constructor(
    readonly topic: string,
    private readonly options: SubscribeOptions,
    private readonly bufferSize: number,
  ) {
    this.position = options.from ? { ...options.from } : undefined;
  }

  /** The `sub` frame for the next (re)subscribe: from the position once there is one. */
  subFrame(): SubFrame {
    if (this.position) return { t: 'sub', topic: this.topic, from: { ...this.position } };
    if (this.options.last !== undefined)
      return { t: 'sub', topic: this.topic, last: this.options.last };
    return { t: 'sub', topic: this.topic };
  }

  /** Whether `subscribed` arrived on the current connection. */
  get isLive(): boolean {
    return this.live;
  }

  /**
   * The server confirmed: exactly `replay` publications up to `offset`
   * follow, then live ones. Delivery continues after the position held, or
   * after `offset - replay` when that is later (a gap) or another epoch.
   * Returns the gap, when there is one.
   */
  subscribed(frame: SubscribedFrame): GapEvent | undefined {
    if (this.state === 'unsubscribed') return undefined;
    const baseline = Math.max(0, frame.offset - frame.replay);
    const previous = this.position;
    const sameEpoch = previous !== undefined && previous.epoch === frame.epoch;
    const lost =
      !frame.recovered || (previous !== undefined && (!sameEpoch || baseline > previous.offset));
    this.position = {
      epoch: frame.epoch,
      offset: sameEpoch ? Math.max(previous.offset, baseline) : baseline,
    };
    this.replayEnd = frame.offset;
    this.skipped = 0;
    this.live = true;
    this.state = 'subscribed';
    const { t: _t, ...fields } = frame;
    const event: SubscribedEvent = { type: 'subscribed', ...fields };
    this.events.emit('subscribed', event);
    if (!this.confirmed) {
      this.confirmed = event;
      for (const w of this.readyWaiters.splice(0)) w.resolve(event);
    }
    if (lost) {
      const gap: GapEvent = {
        type: 'gap',
        topic: this.topic,
        recovered: false,
        reason: sameEpoch ? 'trimmed' : 'epoch',
        from: previous ? { ...previous } : undefined,
        next: { epoch: frame.epoch, offset: baseline + 1 },
        missed: sameEpoch ? Math.max(0, baseline - previous.offset) : undefined,
      };
      this.push(gap);
      this.events.emit('gap', gap);
      return gap;
    }
    return undefined;
  }

  /** The server skipped a publication too big for the client's `maxMessageBytes` (an `error` TOO_BIG). */
  tooBig(): void {
    if (this.live) this.skipped += 1;
  }

  /**
   * Before `frame` is delivered: when it jumps over exactly the publications the server
   * said it skipped (TOO_BIG), the jump is reported as a `gap` (reason `too-big`) and
   * the position moves up to it, instead of counting as a loss on the way.
   */
  skippedTo(frame: PubFrame): GapEvent | undefined {
    const position = this.position;
    if (!this.live || this.state !== 'subscribed' || !position || this.skipped === 0) return;
    const missed = frame.offset - position.offset - 1;
    if (frame.epoch !== position.epoch || missed < 1 || missed > this.skipped) return;
    this.skipped = 0;
    this.position = { epoch: frame.epoch, offset: frame.offset - 1 };
    const gap: GapEvent = {
      type: 'gap',
      topic: this.topic,
      recovered: false,
      reason: 'too-big',
      from: { ...position },
      next: { epoch: frame.epoch, offset: frame.offset },
      missed,
    };
    this.push(gap);
    this.events.emit('gap', gap);
    return gap;
  }

  /**
   * A publication. Delivered once and in order: an offset at or below the
   * position is a duplicate (dropped); one that skips ahead, or another epoch,
   * means something was lost on the way and is returned as an error.
   */
  pub(frame: PubFrame): PubEvent | 'duplicate' | 'ignored' | SequenceGapError {
    const position = this.position;
    if (!this.live || this.state !== 'subscribed' || !position) return 'ignored';
    if (frame.epoch !== position.epoch) {
      return new SequenceGapError(
        `topic "${this.topic}" (epoch ${position.epoch}, got a publication of epoch ${frame.epoch})`,
        position.offset + 1,
        frame.offset,
      );
    }
    if (frame.offset <= position.offset) return 'duplicate';
    if (frame.offset > position.offset + 1) {
      return new SequenceGapError(
        `topic "${this.topic}" offset`,
        position.offset + 1,
        frame.offset,
      );
    }
    this.position = { epoch: frame.epoch, offset: frame.offset };
    const event: PubEvent = {
      type: 'pub',
      topic: frame.topic,
      epoch: frame.epoch,
      offset: frame.offset,
      data: frame.data,
      replayed: frame.offset <= this.replayEnd,
    };
    if (frame.time !== undefined) event.time = frame.time;
    this.push(event);
    this.events.emit('pub', event);
    return event;
  }

  /** The connection is gone: wait for the resubscribe. */
  connectionEnded(): void {
    this.live = false;
    if (this.state === 'subscribed') this.state = 'subscribing';
  }

  /** Ends the subscription: by `unsubscribe()`, the server (`reason`), or the client closing. */
  end(reason: string | undefined, error?: TetherError): void {
    if (this.state === 'unsubscribed') return;
    this.state = 'unsubscribed';
    this.live = false;
    this.failure = error;
    if (error) this.events.emit('error', { type: 'error', error });
    const event: UnsubscribedEvent = { type: 'unsubscribed', topic: this.topic };
    if (reason !== undefined) event.reason = reason;
    this.events.emit('unsubscribed', event);
    const why = error ?? new SubscriptionEndedError(this.topic);
    for (const w of this.readyWaiters.splice(0)) w.reject(why);
    for (const stream of [...this.streams]) {
      if (error) stream.fail(error);
      else stream.end();
    }
  }

  /** Resolves with the first `subscribed`; rejects if the subscription ends before. */
  ready(): Promise<SubscribedEvent> {
    if (this.confirmed) return Promise.resolve(this.confirmed);
    if (this.state === 'unsubscribed') {
      return Promise.reject(this.failure ?? new SubscriptionEndedError(this.topic));
    }
    return new Promise((resolve, reject) => this.readyWaiters.push({ resolve, reject }));
  }

  /** A new async iterator over publications and gaps, from now on. */
  iterate(): EventStream<SubscriptionItem> {
    const stream: EventStream<SubscriptionItem> = new EventStream<SubscriptionItem>(
      this.bufferSize,
      () => this.streams.delete(stream),
    );
    if (this.state === 'unsubscribed') {
      if (this.failure) stream.fail(this.failure);
      else stream.end();
      return stream;
    }
    this.streams.add(stream);
    return stream;
  }

  private push(item: SubscriptionItem): void {
    for (const stream of this.streams) stream.push(item);
  }
}
