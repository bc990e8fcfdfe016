/**
 * @tether/store-sqlite — the durable store of Tether: sessions, their unacknowledged
 * messages and topic histories in one SQLite file (better-sqlite3 12.x, WAL mode, one
 * writer, busy timeout), surviving restarts and SIGKILL. It passes the same store
 * contract suite as the memory store, and plugs into the server's `store` option.
 *
 * @example
 * ```ts
 * import { TetherServer } from '@tether/server';
 * import { SqliteStore } from '@tether/store-sqlite';
 *
 * const store = new SqliteStore({ path: './data/tether.db' });
 * const tether = new TetherServer({ port: 8080, store });
 * // ... on shutdown: the application owns the store it passed in
 * await tether.close();
 * await store.close();
 * ```
 *
 * @packageDocumentation
 */

export type { SqliteSynchronous } from '@tether/server/store';
export { createSqliteStore, type SqliteStoreSpec } from './create-sqlite-store.js';
export { SqliteStore, type SqliteStoreOptions } from './sqlite-store.js';
