/**
 * What a store implemented outside this package (the Redis store) shares with the
 * built-in ones, so every store checks arguments, resolves options, hashes tokens and
 * bounds topic histories the same way.
 */
export { hashToken, rotatedHash } from './session-token.js';
export {
  type ResolvedStoreOptions,
  resolveStoreOptions,
  STORE_OPTION_KEYS,
} from './store-options.js';
export {
  checkCount,
  checkLimit,
  checkName,
  checkPublication,
  newEpoch,
} from './store-rules.js';
export { TopicBounds } from './topic-bounds.js';
