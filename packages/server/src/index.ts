/**
 * @tether/server — WebSocket endpoints that stay up: attach to any Node HTTP server
 * (plain, Express, Fastify) or run standalone; several endpoints on one port routed by
 * path; the `tether.v1` handshake with origin checks and an auth hook; heartbeats with
 * half-open detection; size, per-IP and rate limits; request/reply, messages and
 * topics; write coalescing and slow-consumer protection; graceful shutdown.
 *
 * @example
 * ```ts
 * import { TetherServer } from '@tether/server';
 *
 * const tether = new TetherServer({ server: httpServer });
 * const chat = tether.endpoint('/chat', {
 *   authenticate: async ({ token }) => (await verify(token)) ?? false,
 *   authorizeSubscribe: ({ connection, topic }) => topic.startsWith(`room:`),
 * });
 * chat.handle('history', async (data, { connection }) => loadHistory(connection.user));
 * chat.on('close', ({ connection, code }) => console.log(connection.id, code));
 * tether.publish('room:lobby', { text: 'hello' });
 * process.on('SIGTERM', () => tether.close());
 * ```
 *
 * @packageDocumentation
 */

export type {
  CloseEvent,
  ConnectionInfo,
  ConnectionState,
  MessageContext,
  MessageEvent,
  MessageHandler,
  RequestContext,
  RequestHandler,
  TetherConnection,
} from './connection-types.js';
export { SERVER_DEFAULTS } from './defaults.js';
export type { Endpoint, EndpointEvents } from './endpoint.js';
export { AuthError, type AuthRefusal, ReplyError, ServerStateError } from './errors.js';
export { defaultLogger, type Logger, silentLogger } from './logger.js';
export type {
  AuthContext,
  AuthIdentity,
  AuthResult,
  EndpointOptions,
  RateLimitOptions,
  ResolvedEndpointOptions,
  TetherServerOptions,
  TopicAuthContext,
  TopicAuthorizer,
} from './options.js';
export type { EndpointStats, RefusalReason } from './stats.js';
export {
  type CloseOptions,
  type ServerAddress,
  type ServerStats,
  TetherServer,
} from './tether-server.js';
export type { PublishResult, TopicStats } from './topics.js';
export { TopicError } from './topics.js';
