import type { Disposer } from '@tether/common';
import type { Position } from '@tether/protocol';
import type { SubscribedEvent } from './events.js';
import type {
  SubscriptionEventMap,
  SubscriptionItem,
  SubscriptionState,
  TopicStream,
} from './topic-stream.js';

/**
 * One topic subscription, returned by `client.subscribe(topic, options)`.
 *
 * It outlives connections: after every reconnect (resumed or not) the client
 * subscribes again from {@link position}, so each publication is delivered
 * once and in order, or a `gap` says explicitly what could not be recovered.
 * Iterate it (`for await (const item of sub)`) to get publications (`type:
 * 'pub'`) and gaps (`type: 'gap'`), or listen with `on()`.
 */
export class Subscription implements AsyncIterable<SubscriptionItem> {
  /** @param stream - the subscription's state, owned by the client. */
  constructor(
    private readonly stream: TopicStream,
    private readonly leave: (stream: TopicStream) => Promise<void>,
  ) {}

  get topic(): string {
    return this.stream.topic;
  }

  /** `subscribing` (also while reconnecting), `subscribed`, or `unsubscribed` (for good). */
  get state(): SubscriptionState {
    return this.stream.state;
  }

  /**
   * The last publication delivered (or, before the first one, the point the
   * server said delivery starts after); the next resubscribe continues from
   * it. Save it to continue across a restart of the application with
   * `subscribe(topic, { from })`.
   */
  get position(): Position | undefined {
    const p = this.stream.position;
    return p ? { ...p } : undefined;
  }

  /**
   * Adds a listener: `pub` (each publication once, in order), `gap` (the
   * explicit loss signal), `subscribed` (every confirmation, also after a
   * reconnect), `unsubscribed` (ended; with `reason` when the server ended
   * it), `error` (the server refused it, for example FORBIDDEN). Returns its
   * disposer.
   */
  on<K extends keyof SubscriptionEventMap>(
    event: K,
    listener: (payload: SubscriptionEventMap[K]) => void,
  ): Disposer {
    return this.stream.events.on(event, listener);
  }

  /** Like {@link on}, for the next event only. */
  once<K extends keyof SubscriptionEventMap>(
    event: K,
    listener: (payload: SubscriptionEventMap[K]) => void,
  ): Disposer {
    return this.stream.events.once(event, listener);
  }

  /**
   * Resolves with the first `subscribed` confirmation; rejects with the
   * server's error (FORBIDDEN, ...) or SUBSCRIPTION_ENDED when it ends first.
   * The returned promise may be ignored.
   */
  ready(): Promise<SubscribedEvent> {
    const promise = this.stream.ready();
    promise.catch(() => {});
    return promise;
  }

  /**
   * Leaves the topic: no more publications are delivered, iterators end, and
   * the client does not resubscribe. Resolves when the server confirmed (at
   * once when disconnected). The topic can then be subscribed again.
   */
  unsubscribe(): Promise<void> {
    return this.leave(this.stream);
  }

  /**
   * Publications and gaps from now on, in order. Ends when the subscription
   * ends; throws the server's error when it was refused, and
   * ITERATOR_OVERFLOW when the reader falls `iteratorBufferSize` items behind.
   */
  [Symbol.asyncIterator](): AsyncIterableIterator<SubscriptionItem> {
    return this.stream.iterate();
  }
}
