import type { Clock, Disposer } from '@tether/common';
import type { Json } from '@tether/protocol';
import type {
  CloseEvent,
  MessageEvent,
  MessageHandler,
  OpenConnection,
  RequestHandler,
  ResumeEvent,
  RttEvent,
  SlowConsumerEvent,
  TetherConnection,
} from './connection-types.js';
import type { FlushScheduler } from './flush-scheduler.js';
import type { HeartbeatSweep } from './heartbeat.js';
import type { Logger } from './logger.js';
import type { ResolvedEndpointOptions } from './options.js';
import type { SendResult } from './session.js';
import type { EndpointStabilityReport, StaleEvent } from './stability.js';
import type { EndpointStats } from './stats.js';
import type { Store } from './store/index.js';
import type { PublishResult, Topics } from './topics.js';
import type { TrustedProxies } from './trusted-proxies.js';

/** Events of an endpoint. */
export type EndpointEvents = {
  /** A client completed hello and got welcome: its `sessionId` is set. */
  connection: OpenConnection;
  /** A `msg` frame arrived (also when a message handler is set). */
  message: MessageEvent;
  /** A socket closed (every upgraded socket, also those that never said hello). */
  close: CloseEvent;
  /** A round-trip time was measured (an app `pong` or a WebSocket pong). */
  rtt: RttEvent;
  /** A hello asked to resume a session; says whether it did, and why not. */
  resume: ResumeEvent;
  /** A connection passed `slowConsumerBytes` and is closed with 4009 (it resumes). */
  slowConsumer: SlowConsumerEvent;
  /** An open connection was silent for a heartbeat interval: the 4008 cut follows unless traffic arrives. */
  stale: StaleEvent;
};

/** One WebSocket endpoint (a path) of a TetherServer. */
export interface Endpoint {
  readonly path: string;
  /** Options with defaults applied. */
  readonly options: Readonly<ResolvedEndpointOptions>;
  /** Open connections by id (any state). */
  readonly connections: ReadonlyMap<string, TetherConnection>;
  /** Listens to an event; returns the disposer. */
  on<K extends keyof EndpointEvents & string>(
    event: K,
    listener: (payload: EndpointEvents[K]) => void,
  ): Disposer;
  /** Registers the handler of request `method`, replacing an earlier one; returns the disposer. */
  handle(method: string, handler: RequestHandler): Disposer;
  /**
   * Sets the handler of requests whose method has no handler of its own (one per
   * endpoint; the hub forwards them to its backend); returns the disposer.
   */
  onRequest(handler: RequestHandler): Disposer;
  /** Sets the message handler (one per endpoint); returns the disposer. */
  onMessage(handler: MessageHandler): Disposer;
  /**
   * Publishes to a topic (topics are shared by every endpoint of the server). Resolves
   * with the publication's position once the store committed it; its `pub` frame,
   * encoded once, is then queued to every subscriber. Rejects with a `TopicError` for an
   * invalid topic or data that is not JSON, or a `StoreError`.
   */
  publish(topic: string, data: Json): Promise<PublishResult>;
  /**
   * Sends a reliable message to one session: numbered in the session, stored until the
   * client acknowledges it, delivered at once when the client is connected and replayed
   * in order when it resumes within its window. Resolves once stored (not once
   * delivered). Rejects with a `DeliveryError` (`SESSION_NOT_FOUND`: no such session on
   * this endpoint, or its window passed; `INVALID_PAYLOAD`) or a `StoreError`.
   */
  sendTo(sessionId: string, data: Json): Promise<SendResult>;
  /**
   * {@link sendTo} every session of a user (as named by `authenticate`) on this endpoint,
   * connected or within their window. Resolves with one result per session that took it
   * (none when the user has no session).
   */
  sendToUser(userId: string, data: Json): Promise<SendResult[]>;
  stats(): EndpointStats;
  /**
   * This endpoint's stability: connections by health, `stale` events, closes by code and
   * cause with the recent ones (bounded), recoveries (resumes ok / failed by reason).
   * `tether.stabilityReport()` gathers every endpoint's.
   */
  stabilityReport(): EndpointStabilityReport;
}

/** What endpoints of one server share. */
export interface EndpointShared {
  clock: Clock;
  logger: Logger;
  flusher: FlushScheduler;
  heartbeat: HeartbeatSweep;
  topics: Topics;
  store: Store;
  trustProxy: TrustedProxies;
  /** Whether the server has finished closing (its store may be gone). */
  isClosed: () => boolean;
}
