import type { TetherError } from '@tether/common';
import type {
  CloseCodeInfo,
  Json,
  Position,
  PublishedFrame,
  SubscribedFrame,
  UnsubscribedFrame,
  WelcomeFrame,
} from '@tether/protocol';
import type { BreakerSnapshot, BreakerState, BreakerTransition } from './circuit-breaker.js';
import type { UrlSwitch } from './failover.js';
import type { RetryKind } from './reconnect-policy.js';
import type { HealthEvent, RecoveredEvent } from './stability.js';
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
  resumeFailure: ResumeFailure | undefined;
  /** The attempt number (1 for the first attempt of the client). */
  attempt: number;
  /** Application data the server sent in `welcome.data` (the hub: its backend's connect answer). */
  welcomeData: Record<string, Json> | undefined;
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

/**
 * Several attempts in a row (`unreachableAfter`) ended before their socket ever
 * opened: the server refused the upgrade (a browser cannot see whether with 404,
 * 403 or 400), nothing listens there, or a proxy blocks WebSockets. Emitted once per
 * such streak; the client keeps retrying (its breaker bounds the cost).
 */
export interface UnreachableEvent {
  type: 'unreachable';
  /** Attempts in a row that never opened. */
  attempts: number;
  /** The last attempt's close code (1006 in browsers). */
  lastCode: number;
  /** The URL tried. */
  url: string;
  /** What to check, for people. */
  hint: string;
}

/**
 * An attempt goes to another URL than the previous one (several URLs, or a `url`
 * function): emitted before its socket opens. See docs/client.md, "Failover".
 */
export interface FailoverEvent extends UrlSwitch {
  type: 'failover';
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

/**
 * The circuit breaker's snapshot changed. `transition` says what happened: `open` (the
 * circuit opened: no attempts for `cooldownMs`), `probe` (the cool-down is over: one
 * attempt), `close` (an attempt got through: attempts flow again), or `count` (only the
 * failure count changed).
 */
export interface BreakerEvent extends BreakerSnapshot {
  type: 'breaker';
  transition: BreakerTransition;
  /** The state before this event. */
  previous: BreakerState;
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

/** Why a requested resume failed (`welcome.reason`). */
export type ResumeFailure = NonNullable<WelcomeFrame['reason']>;

/**
 * A topic publication, delivered once and in order (duplicates from a replay
 * are dropped before this event).
 */
export interface PubEvent {
  type: 'pub';
  topic: string;
  epoch: string;
  offset: number;
  data: Json;
  /** Server wall-clock time of publication (ms), when the server sent it. */
  time?: number;
  /** Part of the replay that followed a (re)subscribe, rather than live. */
  replayed: boolean;
}

/**
 * The explicit gap signal of a subscription (`subscribed.recovered: false`):
 * publications after `from` were lost for this client; delivery continues
 * without a gap from `next`. Reload the topic's state from your own source.
 */
export interface GapEvent {
  type: 'gap';
  topic: string;
  recovered: false;
  /**
   * `trimmed`: the history no longer holds them; `epoch`: the topic's history restarted;
   * `too-big`: larger than the client's `maxMessageBytes`, the server skipped them.
   */
  reason: 'trimmed' | 'epoch' | 'too-big';
  /** The position the client asked to continue from (undefined when it had none). */
  from: Position | undefined;
  /** The position of the next publication delivered. */
  next: Position;
  /** How many publications were lost, when it is known (same epoch). */
  missed: number | undefined;
}

/** A reliable frame of a lost session sent again, renumbered, in the new one (see {@link SessionEvent}). */
export interface ResentMessage {
  /** Its number in the new session. */
  seq: number;
  /** Its number in the lost session. */
  previousSeq: number;
  data: Json | undefined;
  /** Set for a reliable request: its method. */
  method: string | undefined;
  /** It had been written in the lost session: the server may have processed it already. */
  maybeProcessed: boolean;
}

/**
 * Emitted on every `welcome`, before `open`: which session the connection
 * belongs to. `resumed: false` with a `reason` means the previous session
 * could not be continued: server messages after `previousLastSeq` are lost,
 * and the messages listed in `resent` were sent again as new ones.
 */
export interface SessionEvent {
  type: 'session';
  sessionId: string;
  resumed: boolean;
  /** Set when a resume was asked for and refused. */
  reason: ResumeFailure | undefined;
  /** The session that could not be resumed. */
  previousSessionId: string | undefined;
  /** Highest server `seq` received in the lost session (0 when no session was lost). */
  previousLastSeq: number;
  /**
   * Every reliable frame still unacknowledged when the session was lost, sent
   * again in the new session as new frames numbered from 1, in order. Empty
   * unless a session was lost.
   */
  resent: ResentMessage[];
}

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
  health: HealthEvent;
  recovered: RecoveredEvent;
  unreachable: UnreachableEvent;
  failover: FailoverEvent;
  overflow: OverflowEvent;
  ack: AckEvent;
  goodbye: GoodbyeEvent;
  session: SessionEvent;
  pub: PubEvent;
  gap: GapEvent;
  subscribed: SubscribedEvent;
  unsubscribed: UnsubscribedEvent;
  published: PublishedEvent;
};

/** A listener as `addEventListener` takes it: a function or an object with `handleEvent`. */
export type EventListenerLike<T> = ((event: T) => void) | { handleEvent(event: T): void };
