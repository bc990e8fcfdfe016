/**
 * Storage of sessions, session logs and topic histories: the `Store`
 * interface, the memory store (default), `createStore()` for the `store`
 * option, and the resume-token helpers. Durable stores are packages of their
 * own (`@tether/store-sqlite`), built from the parts in `../store-kit.ts`.
 */

export { createStore, isStore, type StoreSpec } from './create-store.js';
export { type SqliteSynchronous, STORE_DEFAULTS } from './defaults.js';
export { MemoryStore, type MemoryStoreOptions } from './memory-store.js';
export { checkResume, hashToken, type ResumeCheck, tokenMatches } from './session-token.js';
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
} from './store.js';
export type { StoreOptions } from './store-options.js';
export type { HistoryFor, TopicHistoryOverride } from './topic-bounds.js';
