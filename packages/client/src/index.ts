/**
 * @tether/client — one WebSocket client for browsers and Node that stays up
 * and loses nothing: a connection state machine, reconnect with full-jitter
 * backoff and server hints, a circuit breaker, close codes classified by the
 * protocol's table, heartbeat deadlines checked against the wall clock,
 * online/offline and visibility awareness, an outbox that keeps every
 * message until the server acknowledges it, session resume (server messages
 * once and in order), and topic subscriptions that resume from their position.
 *
 * ```ts
 * const client = new TetherClient('wss://example.com/ws', { token: getToken });
 * client.on('message', ({ data }) => render(data));
 * client.on('session', (s) => { if (s.reason) reloadState(); }); // a lost session, never silent
 * await client.send({ text: 'hi' }); // resolves when the server acked it
 * for await (const item of client.subscribe('chat:room-1', { last: 50 })) {
 *   if (item.type === 'gap') reloadRoom(); else render(item.data);
 * }
 * ```
 *
 * Nothing here imports Node modules; in Node 20 pass `{ WebSocket }` from `ws`.
 */

export type { BreakerSnapshot, BreakerState, BreakerTransition } from './circuit-breaker.js';
export { type PublishOptions, type RequestOptions, TetherClient } from './client.js';
export { CLIENT_DEFAULTS } from './defaults.js';
export { type ClientEnvironment, type EnvironmentEvent, staticEnvironment } from './environment.js';
export {
  ClientClosedError,
  ConnectionLostError,
  DuplicateSubscriptionError,
  FinalCloseError,
  IteratorOverflowError,
  MessageTooBigError,
  QueueFullError,
  ReconnectExhaustedError,
  type RecoveryHint,
  RequestTimeoutError,
  SequenceGapError,
  ServerError,
  ServerProtocolError,
  SubscriptionEndedError,
  TokenProviderError,
  UrlProviderError,
} from './errors.js';
export type { AddEventListenerOptions } from './event-adapters.js';
export type {
  AckEvent,
  BreakerEvent,
  ClientEventMap,
  EventListenerLike,
  FailoverEvent,
  GapEvent,
  GoodbyeEvent,
  OverflowEvent,
  PubEvent,
  PublishedEvent,
  ResentMessage,
  ResumeFailure,
  RetryEvent,
  SessionEvent,
  SubscribedEvent,
  TetherCloseEvent,
  TetherErrorEvent,
  TetherMessageEvent,
  TetherOpenEvent,
  UnreachableEvent,
  UnsubscribedEvent,
} from './events.js';
export type { UrlContext, UrlProvider, UrlSource, UrlSwitch } from './failover.js';
export type { RequestHandler, TetherClientOptions, TokenSource } from './options.js';
export type { ReconnectDelayFn, RetryContext, RetryKind } from './reconnect-policy.js';
export type { SocketEvent, WebSocketConstructor, WebSocketInit, WebSocketLike } from './socket.js';
export {
  type ClientStabilityReport,
  HEALTH_LEVELS,
  type HealthEvent,
  type HealthLevel,
  type HealthReason,
  type HealthStatus,
  type RecoveredEvent,
} from './stability.js';
export type { ConnectionState, StateChange } from './states.js';
export { type ClientStats, HEALTH_DROP_WINDOW_MS, type HealthInput, healthScore } from './stats.js';
export { Subscription } from './subscription.js';
export type {
  SubscribeOptions,
  SubscriptionEventMap,
  SubscriptionItem,
  SubscriptionState,
} from './topic-stream.js';
