/**
 * `@tether/server/store`: the parts every {@link Store} implementation shares, so a
 * durable store in its own package (`@tether/store-sqlite`, `@tether/store-redis`) keeps
 * exactly the memory store's rules: option resolution and defaults, name and count
 * checks, replay windows, history bounds, resume-token hashing. Not needed to use the
 * server; only to write a store.
 *
 * @packageDocumentation
 */

export { createStore, isStore, type StoreSpec } from './store/create-store.js';
export { type SqliteSynchronous, STORE_DEFAULTS } from './store/defaults.js';
export { MemoryStore, type MemoryStoreOptions } from './store/memory-store.js';
export {
  checkResume,
  hashToken,
  type ResumeCheck,
  rotatedHash,
  rotatedTokenHash,
  tokenMatches,
} from './store/session-token.js';
export {
  type NewSession,
  type Publication,
  type PublicationEncoder,
  type SessionAppendResult,
  type SessionMessage,
  type SessionPatch,
  type SessionRecord,
  type SessionReplay,
  type SharedStore,
  type Store,
  StoreError,
  StoreErrorCode,
  type StoreErrorCodeName,
  type StoreHealth,
  type StoreStats,
  type SweepResult,
  type TopicPosition,
  type TopicReplay,
  type TopicSnapshot,
} from './store/store.js';
export {
  type ResolvedStoreOptions,
  resolveStoreOptions,
  type SessionLogLimits,
  STORE_OPTION_KEYS,
  type StoreOptions,
  type TopicHistoryLimits,
} from './store/store-options.js';
export {
  canReplaySession,
  canReplayTopic,
  checkAppend,
  checkCount,
  checkLimit,
  checkName,
  checkPublication,
  messageBytes,
  newEpoch,
  overflowDrops,
  publicationBytes,
  takePage,
} from './store/store-rules.js';
export {
  type HistoryFor,
  TopicBounds,
  type TopicHistoryBounds,
  type TopicHistoryOverride,
} from './store/topic-bounds.js';
