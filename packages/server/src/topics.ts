import { TetherError } from '@tether/common';
import {
  encodeFrame,
  isValidTopic,
  type Json,
  type Position,
  type PubFrame,
} from '@tether/protocol';
import { randomId } from './sessions.js';

/**
 * The seam for topics. This issue ships {@link MemoryTopics}: in-memory fan-out without
 * history. Topics with history (replay from a position, `last` N, a Store) replace it
 * behind the same interface.
 */

/** A subscriber: receives already-encoded frames, so one encoding serves everyone. */
export interface Subscriber {
  readonly id: string;
  sendEncoded(encoded: string): void;
}

/** The answer to a subscribe: the `subscribed` frame's fields. */
export interface SubscribeResult {
  epoch: string;
  /** Offset of the newest publication at subscribe time (0 if none). */
  offset: number;
  recovered: boolean;
  replay: number;
}

/** Where a publication landed and how many subscribers it was queued for. */
export interface PublishResult extends Position {
  delivered: number;
}

/** Topic statistics. */
export interface TopicStats {
  topics: number;
  subscriptions: number;
  publications: number;
}

export interface Topics {
  /**
   * Subscribes and returns the `subscribed` fields. Replayed publications (none here)
   * are sent through the subscriber right after, before any live one.
   */
  subscribe(subscriber: Subscriber, topic: string, from?: Position, last?: number): SubscribeResult;
  /** False when `subscriber` was not subscribed. */
  unsubscribe(subscriber: Subscriber, topic: string): boolean;
  /** Removes every subscription of a subscriber (its connection closed). */
  unsubscribeAll(subscriber: Subscriber, topics: Iterable<string>): void;
  /** Publishes; the `pub` frame is encoded once and the same string goes to each subscriber. */
  publish(topic: string, data: Json): PublishResult;
  stats(): TopicStats;
}

/** Thrown by `publish` for an invalid topic name or a payload that is not JSON. */
export class TopicError extends TetherError {
  override name = 'TopicError';
}

interface TopicState {
  /** A random id per topic, drawn when the topic appears in this process: offsets restart with it. */
  epoch: string;
  offset: number;
  subscribers: Set<Subscriber>;
}

/**
 * In-memory topics without history. A topic appears on first subscribe or publish and
 * is forgotten when its last subscriber leaves, so client-chosen names cannot grow the
 * map without bound; it comes back with a new epoch, which tells a resubscribing client
 * (truthfully) that nothing can be recovered.
 */
export class MemoryTopics implements Topics {
  private readonly topics = new Map<string, TopicState>();
  private publications = 0;
  private subscriptions = 0;

  constructor(private readonly now: () => number) {}

  private state(topic: string): TopicState {
    let state = this.topics.get(topic);
    if (state === undefined) {
      state = { epoch: randomId(8), offset: 0, subscribers: new Set() };
      this.topics.set(topic, state);
    }
    return state;
  }

  subscribe(subscriber: Subscriber, topic: string, from?: Position): SubscribeResult {
    const state = this.state(topic);
    if (!state.subscribers.has(subscriber)) {
      state.subscribers.add(subscriber);
      this.subscriptions += 1;
    }
    // Without history, a position is recoverable only when nothing was published since.
    const recovered =
      from === undefined || (from.epoch === state.epoch && from.offset === state.offset);
    return { epoch: state.epoch, offset: state.offset, recovered, replay: 0 };
  }

  unsubscribe(subscriber: Subscriber, topic: string): boolean {
    const state = this.topics.get(topic);
    if (state === undefined || !state.subscribers.delete(subscriber)) return false;
    this.subscriptions -= 1;
    if (state.subscribers.size === 0) this.topics.delete(topic);
    return true;
  }

  unsubscribeAll(subscriber: Subscriber, topics: Iterable<string>): void {
    for (const topic of topics) this.unsubscribe(subscriber, topic);
  }

  publish(topic: string, data: Json): PublishResult {
    if (typeof topic !== 'string' || !isValidTopic(topic)) {
      throw new TopicError('INVALID_TOPIC', `invalid topic name "${String(topic).slice(0, 64)}"`);
    }
    if (data === undefined)
      throw new TopicError('INVALID_PAYLOAD', 'publication data is undefined (use null)');
    const state = this.state(topic);
    const offset = state.offset + 1;
    const frame: PubFrame = { t: 'pub', topic, epoch: state.epoch, offset, data, time: this.now() };
    let encoded: string;
    try {
      encoded = encodeFrame(frame);
    } catch (err) {
      throw new TopicError(
        'INVALID_PAYLOAD',
        `publication data is not JSON: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
    state.offset = offset;
    this.publications += 1;
    for (const subscriber of state.subscribers) subscriber.sendEncoded(encoded);
    return { epoch: state.epoch, offset, delivered: state.subscribers.size };
  }

  stats(): TopicStats {
    return {
      topics: this.topics.size,
      subscriptions: this.subscriptions,
      publications: this.publications,
    };
  }
}
