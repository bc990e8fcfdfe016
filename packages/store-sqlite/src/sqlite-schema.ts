/**
 * The SQLite store's schema, as numbered migrations. `schema_version` records
 * each applied version; opening a file applies the missing ones in one
 * transaction, and refuses a file written by a newer schema instead of
 * guessing at it. Append new migrations; never edit an applied one.
 */

import { StoreError, StoreErrorCode } from '@tether/server/store';
import type { SqliteDatabase } from './sqlite-driver.js';

/** One schema step. */
export interface Migration {
  version: number;
  description: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'sessions, session logs, topics, publications',
    sql: `
      CREATE TABLE sessions (
        sid             TEXT PRIMARY KEY,
        token_hash      TEXT NOT NULL,
        user_id         TEXT,
        node            TEXT,
        created_at      INTEGER NOT NULL,
        disconnected_at INTEGER,
        expires_at      INTEGER,
        out_seq         INTEGER NOT NULL DEFAULT 0,
        acked_seq       INTEGER NOT NULL DEFAULT 0,
        in_seq          INTEGER NOT NULL DEFAULT 0,
        -- The log holds the contiguous seqs (out_seq - log_count, out_seq]:
        -- kept here so appends and replays need no COUNT/SUM over the log.
        log_count       INTEGER NOT NULL DEFAULT 0,
        log_bytes       INTEGER NOT NULL DEFAULT 0
      ) WITHOUT ROWID;
      CREATE INDEX sessions_by_expiry ON sessions (expires_at) WHERE expires_at IS NOT NULL;
      CREATE INDEX sessions_by_user ON sessions (user_id) WHERE user_id IS NOT NULL;

      CREATE TABLE session_messages (
        sid     TEXT NOT NULL,
        seq     INTEGER NOT NULL,
        payload TEXT NOT NULL,
        bytes   INTEGER NOT NULL,
        PRIMARY KEY (sid, seq)
      ) WITHOUT ROWID;

      CREATE TABLE topics (
        topic   TEXT PRIMARY KEY,
        epoch   TEXT NOT NULL,
        head    INTEGER NOT NULL DEFAULT 0,
        last_at INTEGER NOT NULL
      ) WITHOUT ROWID;

      CREATE TABLE publications (
        topic  TEXT NOT NULL,
        offset INTEGER NOT NULL,
        time   INTEGER NOT NULL,
        data   TEXT NOT NULL,
        frame  TEXT,
        PRIMARY KEY (topic, offset)
      ) WITHOUT ROWID;
      CREATE INDEX publications_by_time ON publications (time);
    `,
  },
];

/** The schema version this code writes. */
export const SCHEMA_VERSION = MIGRATIONS.reduce((v, m) => Math.max(v, m.version), 0);

/**
 * Brings `db` to {@link SCHEMA_VERSION}. Runs in one write transaction, so two
 * processes opening a new file at once apply each migration exactly once.
 */
export function migrate(db: SqliteDatabase, now: number): { from: number; to: number } {
  const run = db.transaction(() => {
    db.exec(`CREATE TABLE IF NOT EXISTS schema_version (
      version    INTEGER PRIMARY KEY,
      applied_at INTEGER NOT NULL
    )`);
    const current = Number(
      db.prepare('SELECT COALESCE(MAX(version), 0) FROM schema_version').pluck().get() ?? 0,
    );
    if (current > SCHEMA_VERSION) {
      throw new StoreError(
        StoreErrorCode.SCHEMA_TOO_NEW,
        `${db.name}: schema version ${current} is newer than this Tether's ${SCHEMA_VERSION}; upgrade Tether or use another file`,
      );
    }
    const record = db.prepare('INSERT INTO schema_version (version, applied_at) VALUES (?, ?)');
    for (const m of MIGRATIONS) {
      if (m.version <= current) continue;
      db.exec(m.sql);
      record.run(m.version, now);
    }
    return { from: current, to: SCHEMA_VERSION };
  });
  return run.immediate();
}
