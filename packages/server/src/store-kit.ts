/**
 * `@tether/server/store`: the parts every {@link Store} implementation shares, so a
 * durable store in its own package (`@tether/store-sqlite`, `@tether/store-redis`) keeps
 * exactly the memory store's rules: the {@link StoreBase} class that checks every
 * method's arguments once, option resolution and defaults, name and count checks, replay windows, history bounds, resume-token hashing. Not needed to use the
 * server; only to write a store.
 *
 * @packageDocumentation
 */

// The storage API the server itself uses, then the parts only a store's author needs.
export * from './store/index.js';
export { rotatedHash, rotatedTokenHash } from './store/session-token.js';
export {
  type CheckedSessionPatch,
  type PageBounds,
  StoreBase,
  type TopicAppend,
} from './store/store-base.js';
export {
  type ResolvedStoreOptions,
  resolveStoreOptions,
  type SessionLogLimits,
  STORE_OPTION_KEYS,
  type TopicHistoryLimits,
} from './store/store-options.js';
export {
  canReplaySession,
  canReplayTopic,
  checkAppend,
  checkCount,
  checkLimit,
  checkName,
  checkPage,
  checkPublication,
  messageBytes,
  newEpoch,
  nextPublication,
  overflowDrops,
  publicationBytes,
  takePage,
} from './store/store-rules.js';
export { TopicBounds, type TopicHistoryBounds } from './store/topic-bounds.js';
