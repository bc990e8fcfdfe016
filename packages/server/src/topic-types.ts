/** The types the topics layer shares with connections, endpoints and the server. */
import { TetherError } from '@tether/common';
import type { Json, Position, ServerFrame } from '@tether/protocol';
import type { ConnectionState } from './connection-types.js';
import type { EndpointCounters } from './stats.js';
import type { TurnWriter } from './topic-turn.js';

/** A subscriber: receives already-encoded frames, so one encoding serves everyone. */
export interface Subscriber {
  readonly id: string;
  readonly state: ConnectionState;
  /** Queues an encoded frame; false when it was not (closing, or over the slow-consumer limit). */
  sendEncoded(encoded: string, bytes?: number): boolean;
  enqueue(frame: ServerFrame): void;
  /** Whether a replay may queue `bytes` more now. */
  roomFor(bytes: number): boolean;
  /** Bytes held for the client now: unsent by the socket plus queued. */
  readonly pendingBytes: number;
  /** Resolves after the next write (true) or once closed (false). */
  whenWritable(): Promise<boolean>;
  closeWith(code: number, reason: string): void;
  /** Its write path (for topic turns: one shared message for a turn's publications). */
  readonly writer: TurnWriter;
}

/** What a `sub` asks for. */
export interface SubscribeRequest {
  /** Replay every publication after this position. */
  from?: Position;
  /** Replay the last N publications (ignored with `from`). */
  last?: number;
}

/** The subscriber's endpoint: where replays are counted and how much a catch-up may buffer. */
export interface SubscribeContext {
  counters: EndpointCounters;
  /** Live publications held while a replay runs, at most (the slow-consumer limit). */
  bufferBytes: number;
  /** Most bytes one replay page reads from the store (`replayPageBytes`). */
  pageBytes: number;
}

/** Where a publication landed and how many subscribers of this process it was queued for. */
export interface PublishResult extends Position {
  delivered: number;
}

/** Topic statistics of this process. */
export interface TopicStats {
  /** Topics with at least one subscriber here. */
  topics: number;
  subscriptions: number;
  /** Publications made through this server since start. */
  publications: number;
}

export interface Topics {
  /**
   * Subscribes: answers `subscribed`, replays what the request asks for, then delivers
   * live publications, without a gap or a duplicate in between.
   */
  subscribe(
    subscriber: Subscriber,
    topic: string,
    request: SubscribeRequest,
    context: SubscribeContext,
  ): void;
  /** False when `subscriber` was not subscribed. */
  unsubscribe(subscriber: Subscriber, topic: string): boolean;
  /** Removes every subscription of a subscriber (its connection closed). */
  unsubscribeAll(subscriber: Subscriber, topics: Iterable<string>): void;
  /** Commits a publication to the store, then queues its frame (encoded once) to each subscriber. */
  publish(topic: string, data: Json): Promise<PublishResult>;
  stats(): TopicStats;
}

/** Rejection of `publish` for an invalid topic name or a payload that is not JSON. */
export class TopicError extends TetherError {
  override name = 'TopicError';
}
