/**
 * The durable store: sessions, session logs and topic histories in one SQLite
 * file (better-sqlite3), surviving restarts and SIGKILL.
 *
 * - WAL journal: readers never block the writer nor each other, so other
 *   processes (ops tools, a second server) read while this one writes.
 * - `synchronous = NORMAL` by default: in WAL mode a commit has written the
 *   WAL with write(2) before it returns, so a killed process loses nothing it
 *   was told is committed; only an OS crash or power loss can lose the last
 *   commits (never corrupt the file). `synchronous: 'full'` adds an fsync per
 *   commit for power-loss durability.
 * - One writer: this process uses one connection, and operations go through a
 *   {@link WriteBatcher}: what is submitted in one event-loop turn commits in
 *   one `BEGIN IMMEDIATE` transaction, and each promise resolves after the
 *   commit. Other processes wait for the lock up to `busyTimeoutMs` instead of
 *   failing with "database is locked".
 */
import { closeSync, constants, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { checkInt, OptionError } from '@tether/common';
import type * as S from '@tether/server/store';
import {
  resolveStoreOptions,
  STORE_DEFAULTS,
  StoreBase,
  StoreError,
  StoreErrorCode,
} from '@tether/server/store';
import {
  openSqlite,
  type SqliteDatabase,
  sqliteBatchExecutor,
  toStoreError,
} from './sqlite-driver.js';
import { migrate } from './sqlite-schema.js';
import { SqliteSessions } from './sqlite-sessions.js';
import { SqliteTopics, type TopicRow } from './sqlite-topics.js';
import { WriteBatcher } from './write-batcher.js';

/** Options of {@link SqliteStore}. */
export interface SqliteStoreOptions extends S.StoreOptions {
  /** The database file; its directory is created if missing. `:memory:` for a private in-memory database. */
  path: string;
  /** `normal` (default: survives a killed process) or `full` (also survives power loss; one fsync per commit). */
  synchronous?: S.SqliteSynchronous;
  /** How long to wait for another process's lock before failing with `STORE_BUSY` (default 5000 ms). */
  busyTimeoutMs?: number;
  /** Most operations per transaction (default 1000). */
  maxBatch?: number;
  /**
   * Longest a batch runs operations before it commits and lets the event loop serve
   * others, ms (default 10; `0`: no time limit, only `maxBatch`). Keeps `/healthz` and
   * live traffic answering while hundreds of replay pages are read at once.
   */
  batchMaxMs?: number;
}

const SQLITE_KEYS = ['path', 'synchronous', 'busyTimeoutMs', 'maxBatch', 'batchMaxMs'] as const;

/** A {@link Store} in a SQLite file. */
export class SqliteStore extends StoreBase implements S.Store {
  readonly kind = 'sqlite';
  /** The database file. */
  readonly path: string;
  /** The journal mode in effect (`wal` for files, `memory` for `:memory:`). */
  readonly journalMode: string;
  private readonly db: SqliteDatabase;
  private readonly sessions: SqliteSessions;
  private readonly topics: SqliteTopics;
  private readonly batcher: WriteBatcher;
  private closing: Promise<void> | undefined;

  constructor(options: SqliteStoreOptions) {
    if (typeof options !== 'object' || options === null) {
      throw new OptionError('store', 'expected sqlite store options with a path');
    }
    super(resolveStoreOptions(options, 'store', SQLITE_KEYS));
    if (typeof options.path !== 'string' || options.path.length === 0) {
      throw new OptionError('store.path', 'expected the path of the SQLite file');
    }
    const synchronous = options.synchronous ?? STORE_DEFAULTS.synchronous;
    if (synchronous !== 'normal' && synchronous !== 'full') {
      throw new OptionError(
        'store.synchronous',
        `expected 'normal' or 'full', got ${String(synchronous)}`,
      );
    }
    const busyTimeoutMs = checkInt(
      'store.busyTimeoutMs',
      options.busyTimeoutMs ?? STORE_DEFAULTS.busyTimeoutMs,
      0,
      2_147_483_647,
    );
    const maxBatch = checkInt('store.maxBatch', options.maxBatch ?? STORE_DEFAULTS.maxBatch, 1);
    const batchMaxMs = checkInt(
      'store.batchMaxMs',
      options.batchMaxMs ?? STORE_DEFAULTS.batchMaxMs,
      0,
    );
    this.path = options.path;

    let db: SqliteDatabase | undefined;
    try {
      if (this.path !== ':memory:') createPrivateFile(this.path);
      db = openSqlite(this.path, { timeout: busyTimeoutMs });
      this.journalMode = String(db.pragma('journal_mode = WAL', { simple: true }));
      db.pragma(`synchronous = ${synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
      migrate(db, this.options.clock.now());
      this.sessions = new SqliteSessions(db, this.options);
      this.topics = new SqliteTopics(db, this.options);
      // A file last used with a larger history bound: apply this one now, once.
      const topics = this.topics;
      db.transaction(() => topics.trimAllByCount()).immediate();
    } catch (err) {
      if (db?.open) db.close();
      throw toStoreError(err, `sqlite store ${this.path}`);
    }
    this.db = db;

    this.batcher = new WriteBatcher(sqliteBatchExecutor(db), {
      maxBatch,
      maxBatchMs: batchMaxMs === 0 ? Number.POSITIVE_INFINITY : batchMaxMs,
      mapError: (err) => toStoreError(err, `sqlite store ${this.path}`),
      closedError: () => new StoreError(StoreErrorCode.CLOSED, 'store is closed'),
    });

    this.startSweep('store-sweep');
  }

  private read<T>(run: () => T): Promise<T> {
    return this.batcher.submit(false, run);
  }

  private write<T>(run: () => T): Promise<T> {
    return this.batcher.submit(true, run);
  }

  // ---- sessions ----

  protected insertSession(record: S.SessionRecord): Promise<S.SessionRecord> {
    return this.write(() => this.sessions.create(record));
  }

  getSession(sid: string): Promise<S.SessionRecord | undefined> {
    return this.read(() => this.sessions.get(sid));
  }

  protected patchSession(sid: string, patch: S.CheckedSessionPatch): Promise<S.SessionRecord> {
    return this.write(() => this.sessions.update(sid, patch));
  }

  deleteSession(sid: string): Promise<boolean> {
    return this.write(() => this.sessions.delete(sid));
  }

  sessionsOfUser(userId: string): Promise<S.SessionRecord[]> {
    return this.read(() => this.sessions.ofUser(userId));
  }

  protected releaseConnected(now: number, expiresAt: number, node?: string): Promise<number> {
    return this.write(() => this.sessions.release(now, expiresAt, node));
  }

  appendSessionMessages(
    sid: string,
    messages: readonly S.SessionMessage[],
  ): Promise<S.SessionAppendResult> {
    return this.write(() => this.sessions.append(sid, messages));
  }

  protected readSessionMessages(
    sid: string,
    afterSeq: number,
    page: S.PageBounds,
  ): Promise<S.SessionReplay> {
    return this.read(() => this.sessions.after(sid, afterSeq, page));
  }

  protected trimSession(sid: string, uptoSeq: number): Promise<void> {
    return this.write(() => this.sessions.trim(sid, uptoSeq));
  }

  // ---- topics ----

  protected appendToTopic(append: S.TopicAppend): Promise<S.Publication> {
    return this.write(() => this.topics.append(append, this.now()));
  }

  protected readPublications(
    topic: string,
    from: S.TopicPosition,
    page: S.PageBounds,
  ): Promise<S.TopicReplay> {
    return this.topicRead(topic, (row) => this.topics.after(row, topic, from, page));
  }

  protected readLastPublications(
    topic: string,
    n: number,
    page: S.PageBounds,
  ): Promise<S.TopicSnapshot> {
    return this.topicRead(topic, (row) => this.topics.last(row, topic, n, page));
  }

  protected readTopicHead(topic: string): Promise<S.TopicPosition> {
    return this.topicRead(topic, (row) => ({ epoch: row.epoch, offset: row.head }));
  }

  /**
   * Reads a topic; a topic without history must first get one (an epoch), a
   * write, so that read is retried as a write. Only then can the answer
   * reflect operations submitted after it, never one missing earlier writes.
   */
  private async topicRead<T>(topic: string, fn: (row: TopicRow) => T): Promise<T> {
    const found = await this.read(() => {
      const row = this.topics.find(topic);
      return row ? { value: fn(row) } : undefined;
    });
    if (found) return found.value;
    return this.write(() => fn(this.topics.ensure(topic, this.now())));
  }

  // ---- housekeeping ----

  protected removeExpired(now: number): Promise<S.SweepResult> {
    return this.write(() => {
      const expiredSessions = this.sessions.expire(now);
      const { trimmed, dropped } = this.topics.sweep(now);
      return { expiredSessions, trimmedPublications: trimmed, droppedTopics: dropped };
    });
  }

  protected readCounts(): Promise<Omit<S.StoreStats, 'kind' | 'sweeps'>> {
    return this.read(() => {
      const s = this.sessions.counts();
      const t = this.topics.counts();
      const b = this.batcher;
      return {
        sessions: s.sessions,
        sessionMessages: s.messages,
        topics: t.topics,
        publications: t.publications,
        transactions: b.transactions,
        operations: b.operations,
        failedOperations: b.failedOperations,
        pendingOperations: b.pending,
        largestBatch: b.largestBatch,
      };
    });
  }

  protected canSweep(): boolean {
    return this.closing === undefined;
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.stopSweep();
    try {
      this.batcher.close();
    } finally {
      if (this.db.open) this.db.close();
    }
  }
}

/**
 * Creates the database file 0600 (and missing directories 0700) when it does not exist
 * yet: it holds sessions, resume-token hashes and every retained message, and SQLite
 * would create it 0644, readable by every local user. SQLite gives the -wal and -shm
 * files the database file's mode, so they are 0600 too. An existing file keeps the mode
 * its owner chose. (An empty file is a valid empty database.)
 */
function createPrivateFile(path: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  try {
    closeSync(openSync(path, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o600));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
}
