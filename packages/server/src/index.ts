/**
 * @tether/server — WebSocket endpoints that stay up: attach to any Node HTTP server
 * (plain, Express, Fastify) or run standalone; several endpoints on one port routed by
 * path; the `tether.v1` handshake with origin checks and an auth hook; heartbeats with
 * half-open detection; size, per-IP and rate limits; request/reply, messages and
 * topics; write coalescing and slow-consumer protection; graceful shutdown.
 *
 * Nothing is lost across reconnects: sessions resume within their window with the
 * messages they missed replayed in order (`sendTo`, `sendToUser`), client messages are
 * processed once, and topics keep a history that a resubscribing client continues from.
 * The `store` option keeps all of it in memory (default) or in any `Store` object, such
 * as the SQLite file of `@tether/store-sqlite` that survives restarts; docs/guarantees.md
 * says exactly what each mode promises. Metrics, `/stats` and the ops endpoints are the
 * subpath `@tether/server/ops` (it needs `prom-client`); the parts a store implementation
 * shares are `@tether/server/store`.
 *
 * @example
 * ```ts
 * import { TetherServer } from '@tether/server';
 * import { SqliteStore } from '@tether/store-sqlite';
 *
 * const tether = new TetherServer({ server: httpServer, store: new SqliteStore({ path: './data/tether.db' }) });
 * const chat = tether.endpoint('/chat', {
 *   authenticate: async ({ token }) => (await verify(token)) ?? false,
 *   authorizeSubscribe: ({ connection, topic }) => topic.startsWith(`room:`),
 * });
 * chat.handle('history', async (data, { connection }) => loadHistory(connection.user));
 * chat.on('close', ({ connection, code }) => console.log(connection.id, code));
 * chat.on('resume', ({ resumed, reason }) => resumed || console.log('session lost:', reason));
 * await chat.sendToUser('alice', { notice: 'your report is ready' });
 * await tether.publish('room:lobby', { text: 'hello' });
 * process.on('SIGTERM', () => tether.close());
 * ```
 *
 * @packageDocumentation
 */

export { OptionError, TetherError } from '@tether/common';
export { restartSpreadMs } from './close-options.js';
// Every type of a connection, its events and its handlers is public (the file holds only those).
export type * from './connection-types.js';
export { SERVER_DEFAULTS } from './defaults.js';
export type { Endpoint, EndpointEvents } from './endpoint-types.js';
export {
  AuthError,
  type AuthRefusal,
  DeliveryError,
  type DeliveryErrorCode,
  ReplyError,
  ServerStateError,
} from './errors.js';
export { type HttpTimeouts, httpServerOptions } from './http-timeouts.js';
export { defaultLogger, jsonLineLogger, type Logger, silentLogger } from './logger.js';
export type {
  AuthContext,
  AuthIdentity,
  AuthResult,
  EndpointOptions,
  RateLimitOptions,
  ResolvedEndpointOptions,
  TopicAuthContext,
  TopicAuthorizer,
  TopicVerdict,
} from './options.js';
export type { TetherServerOptions } from './server-options.js';
export type { SendResult } from './session.js';
export {
  type EndpointStabilityReport,
  type RecentClose,
  STABILITY_DEFAULTS,
  type StabilityReport,
  type StaleEvent,
} from './stability.js';
export type {
  DeliveryDetails,
  DeliveryStats,
  EndpointStats,
  RefusalReason,
  ResumeCounts,
  ResumeFailure,
} from './stats.js';
export {
  checkResume,
  createStore,
  hashToken,
  isStore,
  MemoryStore,
  type MemoryStoreOptions,
  type NewSession,
  type Publication,
  type PublicationEncoder,
  type ResumeCheck,
  type SessionAppendResult,
  type SessionEvent,
  type SessionMessage,
  type SessionPatch,
  type SessionRecord,
  type SessionReplay,
  type SharedStore,
  STORE_DEFAULTS,
  type Store,
  StoreError,
  StoreErrorCode,
  type StoreErrorCodeName,
  type StoreHealth,
  type StoreOptions,
  type StoreSpec,
  type StoreStats,
  type SweepResult,
  type TopicHistoryOverride,
  type TopicPosition,
  type TopicReplay,
  type TopicSnapshot,
  tokenMatches,
} from './store/index.js';
export {
  type CloseOptions,
  type ServerAddress,
  type ServerStats,
  TetherServer,
} from './tether-server.js';
export type { PublishResult, TopicStats } from './topics.js';
export { TopicError } from './topics.js';
export { resolveTrustedProxies, type TrustedProxies } from './trusted-proxies.js';
