/**
 * @tether/client — one WebSocket client for browsers and Node that stays up
 * and loses nothing: a connection state machine, reconnect with full-jitter
 * backoff and server hints, a circuit breaker, close codes classified by the
 * protocol's table, heartbeat deadlines checked against the wall clock,
 * online/offline and visibility awareness, and an outbox that keeps every
 * message until the server acknowledges it.
 *
 * ```ts
 * const client = new TetherClient('wss://example.com/ws', { token: getToken });
 * client.on('message', ({ data }) => render(data));
 * await client.send({ text: 'hi' }); // resolves when the server acked it
 * ```
 *
 * Nothing here imports Node modules; in Node 20 pass `{ WebSocket }` from `ws`.
 */

export type { BreakerSnapshot, BreakerState } from './circuit-breaker.js';
export { type RequestOptions, TetherClient } from './client.js';
export type { AddEventListenerOptions } from './client-events.js';
export { CLIENT_DEFAULTS } from './defaults.js';
export { type ClientEnvironment, type EnvironmentEvent, staticEnvironment } from './environment.js';
export {
  ClientClosedError,
  ConnectionLostError,
  FinalCloseError,
  IteratorOverflowError,
  MessageTooBigError,
  QueueFullError,
  ReconnectExhaustedError,
  type RecoveryHint,
  RequestTimeoutError,
  ServerError,
  ServerProtocolError,
  TokenProviderError,
} from './errors.js';
export type {
  AckEvent,
  BreakerEvent,
  ClientEventMap,
  EventListenerLike,
  GoodbyeEvent,
  OverflowEvent,
  PubEvent,
  PublishedEvent,
  RetryEvent,
  SubscribedEvent,
  TetherCloseEvent,
  TetherErrorEvent,
  TetherMessageEvent,
  TetherOpenEvent,
  UnsubscribedEvent,
} from './events.js';
export type { RequestHandler, TetherClientOptions, TokenSource } from './options.js';
export type { ReconnectDelayFn, RetryContext, RetryKind } from './reconnect-policy.js';
export type { SocketEvent, WebSocketConstructor, WebSocketInit, WebSocketLike } from './socket.js';
export type { ConnectionState, StateChange } from './states.js';
export { type ClientStats, HEALTH_DROP_WINDOW_MS, type HealthInput, healthScore } from './stats.js';
