/**
 * Sessions and session logs in SQLite: synchronous operations on prepared
 * statements, on arguments `StoreBase` has checked. `SqliteStore` runs them
 * inside its batched transactions, so each one sees and leaves a consistent state.
 */
import {
  type CheckedSessionPatch,
  canReplaySession,
  checkAppend,
  messageBytes,
  overflowDrops,
  type PageBounds,
  type SessionAppendResult,
  type SessionLogLimits,
  type SessionMessage,
  type SessionRecord,
  type SessionReplay,
  StoreError,
  StoreErrorCode,
  takePage,
} from '@tether/server/store';
import type { SqliteDatabase } from './sqlite-driver.js';

interface SessionRow {
  sid: string;
  token_hash: string;
  user_id: string | null;
  node: string | null;
  created_at: number;
  disconnected_at: number | null;
  expires_at: number | null;
  out_seq: number;
  acked_seq: number;
  in_seq: number;
  log_count: number;
  log_bytes: number;
}

function toRecord(row: SessionRow): SessionRecord {
  return {
    sid: row.sid,
    tokenHash: row.token_hash,
    userId: row.user_id,
    node: row.node,
    createdAt: row.created_at,
    disconnectedAt: row.disconnected_at,
    expiresAt: row.expires_at,
    outSeq: row.out_seq,
    ackedSeq: row.acked_seq,
    inSeq: row.in_seq,
  };
}

/** Synchronous session operations over one connection. */
export class SqliteSessions {
  private readonly s: ReturnType<typeof prepareStatements>;

  constructor(
    db: SqliteDatabase,
    private readonly limits: SessionLogLimits,
  ) {
    this.s = prepareStatements(db);
  }

  create(record: SessionRecord): SessionRecord {
    const { sid } = record;
    const { changes } = this.s.insert.run(
      sid,
      record.tokenHash,
      record.userId,
      record.node,
      record.createdAt,
      record.disconnectedAt,
      record.expiresAt,
    );
    if (changes === 0) {
      throw new StoreError(StoreErrorCode.SESSION_EXISTS, `session ${sid} exists`);
    }
    return this.require(sid);
  }

  get(sid: string): SessionRecord | undefined {
    const row = this.row(sid);
    return row ? toRecord(row) : undefined;
  }

  update(sid: string, patch: CheckedSessionPatch): SessionRecord {
    const row = this.requireRow(sid);
    this.s.update.run(
      patch.tokenHash ?? row.token_hash,
      patch.userId !== undefined ? patch.userId : row.user_id,
      patch.node !== undefined ? patch.node : row.node,
      patch.disconnectedAt !== undefined ? patch.disconnectedAt : row.disconnected_at,
      patch.expiresAt !== undefined ? patch.expiresAt : row.expires_at,
      row.acked_seq,
      Math.max(row.in_seq, patch.inSeq ?? 0),
      sid,
    );
    if (patch.ackedSeq !== undefined) this.ackRow(row, patch.ackedSeq);
    return this.require(sid);
  }

  delete(sid: string): boolean {
    this.s.deleteLog.run(sid);
    return this.s.delete.run(sid).changes > 0;
  }

  ofUser(userId: string): SessionRecord[] {
    return (this.s.byUser.all(userId) as SessionRow[]).map(toRecord);
  }

  release(now: number, expiresAt: number, node?: string): number {
    const result =
      node === undefined
        ? this.s.releaseAll.run(now, expiresAt)
        : this.s.releaseNode.run(now, expiresAt, node);
    return result.changes;
  }

  append(sid: string, messages: readonly SessionMessage[]): SessionAppendResult {
    const row = this.requireRow(sid);
    const sizes = checkAppend(sid, row.out_seq, messages);
    let bytes = row.log_bytes;
    messages.forEach((m, i) => {
      const size = sizes[i] ?? 0;
      this.s.insertMessage.run(sid, m.seq, m.payload, size);
      bytes += size;
    });
    const outSeq = row.out_seq + messages.length;
    let count = row.log_count + messages.length;
    const { sessionMaxMessages, sessionMaxBytes } = this.limits;
    // The cursor is closed (loop exit) before the next statement runs.
    const over = overflowDrops(
      count,
      bytes,
      sessionMaxMessages,
      sessionMaxBytes,
      () => this.s.oldestSizes.iterate(sid) as IterableIterator<number>,
    );
    if (over.drop > 0) {
      const oldest = outSeq - count + 1;
      this.s.deleteLogUpTo.run(sid, oldest + over.drop - 1);
      count -= over.drop;
      bytes -= over.bytes;
    }
    this.s.setLog.run(outSeq, count, bytes, sid);
    return { outSeq, dropped: over.drop };
  }

  after(sid: string, afterSeq: number, { max, budget }: PageBounds): SessionReplay {
    const row = this.row(sid);
    if (!row) return { messages: [], complete: false, outSeq: 0 };
    const oldest = row.out_seq - row.log_count + 1;
    // A cursor: rows past the page are never read.
    const rows = this.s.messagesAfter.iterate(
      sid,
      afterSeq,
      Number.isFinite(max) ? max : -1,
    ) as IterableIterator<SessionMessage>;
    const messages = takePage(rows, max, budget, messageBytes);
    return {
      messages,
      complete: canReplaySession(row.out_seq, oldest, afterSeq),
      outSeq: row.out_seq,
    };
  }

  trim(sid: string, uptoSeq: number): void {
    const row = this.row(sid);
    if (row) this.ackRow(row, uptoSeq);
  }

  /** Deletes sessions whose resume window ended at or before `now`, with their logs. */
  expire(now: number): number {
    this.s.deleteExpiredLogs.run(now);
    return this.s.deleteExpired.run(now).changes;
  }

  counts(): { sessions: number; messages: number } {
    return this.s.counts.get() as { sessions: number; messages: number };
  }

  /** Raises `acked_seq` (clamped to `out_seq`) and drops the acknowledged prefix of the log. */
  private ackRow(row: SessionRow, uptoSeq: number): void {
    const acked = Math.max(row.acked_seq, Math.min(uptoSeq, row.out_seq));
    if (acked === row.acked_seq) return;
    const oldest = row.out_seq - row.log_count + 1;
    let count = row.log_count;
    let bytes = row.log_bytes;
    if (acked >= oldest && count > 0) {
      bytes -= Number(this.s.bytesUpTo.get(row.sid, acked) ?? 0);
      this.s.deleteLogUpTo.run(row.sid, acked);
      count -= Math.min(count, acked - oldest + 1);
    }
    this.s.setAck.run(acked, count, bytes, row.sid);
  }

  private row(sid: string): SessionRow | undefined {
    return this.s.get.get(sid) as SessionRow | undefined;
  }

  private requireRow(sid: string): SessionRow {
    const row = this.row(sid);
    if (!row) {
      throw new StoreError(StoreErrorCode.SESSION_NOT_FOUND, `session ${sid} not found`);
    }
    return row;
  }

  private require(sid: string): SessionRecord {
    return toRecord(this.requireRow(sid));
  }
}

/** The prepared statements of {@link SqliteSessions}. */
function prepareStatements(db: SqliteDatabase) {
  return {
    get: db.prepare('SELECT * FROM sessions WHERE sid = ?'),
    insert: db.prepare(
      `INSERT INTO sessions (sid, token_hash, user_id, node, created_at, disconnected_at, expires_at)
       VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (sid) DO NOTHING`,
    ),
    update: db.prepare(
      `UPDATE sessions SET token_hash = ?, user_id = ?, node = ?, disconnected_at = ?,
         expires_at = ?, acked_seq = ?, in_seq = ? WHERE sid = ?`,
    ),
    setLog: db.prepare(
      'UPDATE sessions SET out_seq = ?, log_count = ?, log_bytes = ? WHERE sid = ?',
    ),
    setAck: db.prepare(
      'UPDATE sessions SET acked_seq = ?, log_count = ?, log_bytes = ? WHERE sid = ?',
    ),
    bytesUpTo: db
      .prepare('SELECT COALESCE(SUM(bytes), 0) FROM session_messages WHERE sid = ? AND seq <= ?')
      .pluck(),
    deleteLog: db.prepare('DELETE FROM session_messages WHERE sid = ?'),
    deleteLogUpTo: db.prepare('DELETE FROM session_messages WHERE sid = ? AND seq <= ?'),
    delete: db.prepare('DELETE FROM sessions WHERE sid = ?'),
    byUser: db.prepare('SELECT * FROM sessions WHERE user_id = ? ORDER BY created_at, sid'),
    releaseAll: db.prepare(
      'UPDATE sessions SET disconnected_at = ?, expires_at = ? WHERE disconnected_at IS NULL',
    ),
    releaseNode: db.prepare(
      `UPDATE sessions SET disconnected_at = ?, expires_at = ?
       WHERE disconnected_at IS NULL AND node = ?`,
    ),
    insertMessage: db.prepare(
      'INSERT INTO session_messages (sid, seq, payload, bytes) VALUES (?, ?, ?, ?)',
    ),
    messagesAfter: db.prepare(
      'SELECT seq, payload FROM session_messages WHERE sid = ? AND seq > ? ORDER BY seq LIMIT ?',
    ),
    oldestSizes: db
      .prepare('SELECT bytes FROM session_messages WHERE sid = ? ORDER BY seq')
      .pluck(),
    deleteExpiredLogs: db.prepare(
      `DELETE FROM session_messages WHERE sid IN
         (SELECT sid FROM sessions WHERE expires_at IS NOT NULL AND expires_at <= ?)`,
    ),
    deleteExpired: db.prepare(
      'DELETE FROM sessions WHERE expires_at IS NOT NULL AND expires_at <= ?',
    ),
    counts: db.prepare(
      'SELECT COUNT(*) AS sessions, COALESCE(SUM(log_count), 0) AS messages FROM sessions',
    ),
  };
}
