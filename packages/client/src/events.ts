import type { TetherError } from '@tether/common';
import type {
  CloseCodeInfo,
  Json,
  PubFrame,
  PublishedFrame,
  SubscribedFrame,
  UnsubscribedFrame,
} from '@tether/protocol';
import type { BreakerSnapshot } from './circuit-breaker.js';
import type { RetryKind } from './reconnect-policy.js';
import type { StateChange } from './states.js';

/** `welcome` received: the connection is open. */
export interface TetherOpenEvent {
  type: 'open';
  sessionId: string;
  /** The server's id for this socket (for its logs). */
  connectionId: string;
  /** Whether the session from before was resumed (false on the first connection). */
  resumed: boolean;
  /** Why a requested resume failed. */
  resumeFailure: 'unknown' | 'expired' | 'gap' | 'invalid' | undefined;
  /** The attempt number (1 for the first attempt of the client). */
  attempt: number;
}

/** A connection ended (not emitted for attempts superseded by `close()`, which emits code 4999). */
export interface TetherCloseEvent {
  type: 'close';
  /** The effective close code: the socket's, or the `goodbye`'s when the socket reports 1005/1006, or the HTTP refusal's. */
  code: number;
  reason: string;
  wasClean: boolean;
  /** Whether the client will try again. */
  willReconnect: boolean;
  /** The close code's row of the protocol's table. */
  info: CloseCodeInfo;
}

/** A message from the server. */
export interface TetherMessageEvent {
  type: 'message';
  data: Json;
  /** The server's sequence number, for reliable messages. */
  seq: number | undefined;
}

/** Something failed; `error` is a typed error with `code`, `retryable` and `cause`. */
export interface TetherErrorEvent {
  type: 'error';
  error: TetherError;
}

/** A reconnect was scheduled. */
export interface RetryEvent {
  type: 'retry';
  /** Reconnect attempts in a row, this one included. */
  attempt: number;
  delayMs: number;
  kind: RetryKind;
  /** The close code that caused it. */
  closeCode: number;
  /** The server's hint, when there was one. */
  retryAfterMs: number | undefined;
}

/** The circuit breaker changed state. */
export interface BreakerEvent extends BreakerSnapshot {
  type: 'breaker';
}

/** A `send()` or `request()` was refused because the outbox is full. */
export interface OverflowEvent {
  type: 'overflow';
  limit: 'maxQueue' | 'maxQueueBytes';
  queued: number;
  queuedBytes: number;
}

/** The server acknowledged every message up to `seq`. */
export interface AckEvent {
  type: 'ack';
  seq: number;
}

/** The server announced a close; `retryAfter` (ms) delays the reconnect. */
export interface GoodbyeEvent {
  type: 'goodbye';
  code: number;
  reason: string;
  retryAfter: number | undefined;
}

type FrameEvent<F extends { t: string }, T extends string> = Omit<F, 't'> & { type: T };

/** A topic publication (topics are wired by a later issue; this is the raw frame). */
export type PubEvent = FrameEvent<PubFrame, 'pub'>;
export type SubscribedEvent = FrameEvent<SubscribedFrame, 'subscribed'>;
export type UnsubscribedEvent = FrameEvent<UnsubscribedFrame, 'unsubscribed'>;
export type PublishedEvent = FrameEvent<PublishedFrame, 'published'>;

/** Every event of the client, by name. */
export type ClientEventMap = {
  state: StateChange;
  open: TetherOpenEvent;
  close: TetherCloseEvent;
  message: TetherMessageEvent;
  error: TetherErrorEvent;
  retry: RetryEvent;
  breaker: BreakerEvent;
  overflow: OverflowEvent;
  ack: AckEvent;
  goodbye: GoodbyeEvent;
  pub: PubEvent;
  subscribed: SubscribedEvent;
  unsubscribed: UnsubscribedEvent;
  published: PublishedEvent;
};

/** A listener as `addEventListener` takes it: a function or an object with `handleEvent`. */
export type EventListenerLike<T> = ((event: T) => void) | { handleEvent(event: T): void };
