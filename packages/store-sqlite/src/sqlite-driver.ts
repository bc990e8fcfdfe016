/**
 * The slice of better-sqlite3 (12.x) the SQLite store uses, typed here so the
 * package needs no `@types/better-sqlite3`, and loaded lazily so that users of
 * the memory store never load the native addon.
 */
import { createRequire } from 'node:module';
import { StoreError, StoreErrorCode } from '@tether/server/store';
import type { BatchExecutor } from './write-batcher.js';

/** Result of a write statement. */
export interface SqliteRunResult {
  changes: number;
  lastInsertRowid: number | bigint;
}

/** A prepared statement. */
export interface SqliteStatement {
  run(...params: unknown[]): SqliteRunResult;
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
  iterate(...params: unknown[]): IterableIterator<unknown>;
  /** Makes `get`/`all`/`iterate` return the first column only. */
  pluck(toggle?: boolean): this;
}

/** A function wrapped by `db.transaction()`; nested calls become savepoints. */
export interface SqliteTransaction<A extends unknown[], R> {
  (...args: A): R;
  deferred(...args: A): R;
  immediate(...args: A): R;
}

/** An open database connection. */
export interface SqliteDatabase {
  readonly open: boolean;
  readonly inTransaction: boolean;
  readonly name: string;
  prepare(sql: string): SqliteStatement;
  exec(sql: string): this;
  pragma(source: string, options?: { simple?: boolean }): unknown;
  transaction<A extends unknown[], R>(fn: (...args: A) => R): SqliteTransaction<A, R>;
  close(): this;
}

/** Options of the better-sqlite3 constructor that the store uses. */
export interface SqliteOpenOptions {
  /** Busy timeout in ms (sets `PRAGMA busy_timeout`). */
  timeout?: number;
  readonly?: boolean;
  fileMustExist?: boolean;
}

type SqliteConstructor = new (filename: string, options?: SqliteOpenOptions) => SqliteDatabase;

let driver: SqliteConstructor | undefined;

/** Opens `path` with better-sqlite3, loading the addon on first use. */
export function openSqlite(path: string, options: SqliteOpenOptions): SqliteDatabase {
  if (!driver) {
    try {
      driver = createRequire(import.meta.url)('better-sqlite3') as SqliteConstructor;
    } catch (err) {
      throw new StoreError(
        StoreErrorCode.FAILED,
        'the sqlite store needs the better-sqlite3 package (12.x) installed',
        { cause: err },
      );
    }
  }
  return new driver(path, options);
}

/** SQLite result codes (prefixes of better-sqlite3's `code`) and what they mean for a caller. */
const CODE_MAP: ReadonlyArray<[prefix: string, code: StoreError['code'], retryable: boolean]> = [
  ['SQLITE_BUSY', StoreErrorCode.BUSY, true],
  ['SQLITE_LOCKED', StoreErrorCode.BUSY, true],
  ['SQLITE_FULL', StoreErrorCode.FULL, false],
  ['SQLITE_CORRUPT', StoreErrorCode.CORRUPT, false],
  ['SQLITE_NOTADB', StoreErrorCode.CORRUPT, false],
  ['SQLITE_IOERR', StoreErrorCode.IO, false],
  ['SQLITE_CANTOPEN', StoreErrorCode.IO, false],
  ['SQLITE_READONLY', StoreErrorCode.IO, false],
  ['SQLITE_PERM', StoreErrorCode.IO, false],
];

/**
 * Turns whatever the driver threw into a {@link StoreError} with the driver's
 * error as `cause`; a `StoreError` passes through unchanged.
 */
export function toStoreError(err: unknown, context = 'sqlite store'): StoreError {
  if (err instanceof StoreError) return err;
  const sqliteCode =
    typeof err === 'object' && err !== null && typeof (err as { code?: unknown }).code === 'string'
      ? (err as { code: string }).code
      : '';
  const message = err instanceof Error ? err.message : String(err);
  // Node's own errors (creating the directory, opening the file): ENOENT, EACCES, ENOTDIR...
  if (/^E[A-Z]+$/.test(sqliteCode)) {
    return new StoreError(StoreErrorCode.IO, `${context}: ${message}`, { cause: err });
  }
  for (const [prefix, code, retryable] of CODE_MAP) {
    if (sqliteCode.startsWith(prefix)) {
      return new StoreError(code, `${context}: ${message} (${sqliteCode})`, {
        retryable,
        cause: err,
      });
    }
  }
  const suffix = sqliteCode ? ` (${sqliteCode})` : '';
  return new StoreError(StoreErrorCode.FAILED, `${context}: ${message}${suffix}`, { cause: err });
}

/**
 * Batching on one connection: a batch is one `BEGIN IMMEDIATE` transaction
 * (the write lock is taken up front, so it waits on `busy_timeout` instead of
 * failing when it would otherwise upgrade a read lock mid-way), and each
 * write runs in a savepoint.
 */
export function sqliteBatchExecutor(db: SqliteDatabase): BatchExecutor {
  const transaction = db.transaction((body: () => void) => body());
  const savepoint = db.transaction((fn: () => unknown) => fn());
  return {
    transaction(write, body) {
      if (write) transaction.immediate(body);
      else transaction.deferred(body);
    },
    isolated: <T>(fn: () => T): T => savepoint(fn) as T,
    inTransaction: () => db.inTransaction,
  };
}
