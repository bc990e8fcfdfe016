/**
 * The library's default store: everything in this process's memory. Fast and
 * dependency-free; state dies with the process, so a restart starts every
 * topic in a new epoch and resumes of older sessions get `unknown`.
 */
import { MemoryTopics } from './memory-topics.js';
import type * as S from './store.js';
import { StoreError, StoreErrorCode } from './store.js';
import {
  type CheckedSessionPatch,
  type PageBounds,
  StoreBase,
  type TopicAppend,
} from './store-base.js';
import { resolveStoreOptions, type StoreOptions } from './store-options.js';
import { canReplaySession, checkAppend, overflowDrops, takePage } from './store-rules.js';

interface LoggedMessage {
  seq: number;
  payload: string;
  bytes: number;
}

interface SessionEntry {
  record: S.SessionRecord;
  log: LoggedMessage[];
  logBytes: number;
}

/** Options of {@link MemoryStore}: only the shared ones. */
export type MemoryStoreOptions = StoreOptions;

/** A {@link Store} held in this process's memory. */
export class MemoryStore extends StoreBase implements S.Store {
  readonly kind = 'memory';
  private readonly sessions = new Map<string, SessionEntry>();
  private readonly byUser = new Map<string, Set<string>>();
  private readonly topics: MemoryTopics;
  private closed = false;
  private operations = 0;
  private failedOperations = 0;

  constructor(options: MemoryStoreOptions = {}) {
    super(resolveStoreOptions(options, 'store'));
    this.topics = new MemoryTopics(this.options);
    this.startSweep('store-sweep');
  }

  /** Runs `fn` as one store operation: refused after close, counted, errors as rejections. */
  private op<T>(fn: () => T): Promise<T> {
    try {
      if (this.closed) throw new StoreError(StoreErrorCode.CLOSED, 'store is closed');
      const result = fn();
      this.operations++;
      return Promise.resolve(result);
    } catch (err) {
      this.failedOperations++;
      return Promise.reject(
        err instanceof StoreError
          ? err
          : new StoreError(StoreErrorCode.FAILED, `memory store: ${String(err)}`, { cause: err }),
      );
    }
  }

  // ---- sessions ----

  protected insertSession(record: S.SessionRecord): Promise<S.SessionRecord> {
    return this.op(() => {
      const { sid } = record;
      if (this.sessions.has(sid)) {
        throw new StoreError(StoreErrorCode.SESSION_EXISTS, `session ${sid} exists`);
      }
      this.sessions.set(sid, { record: { ...record }, log: [], logBytes: 0 });
      this.indexUser(sid, null, record.userId);
      return { ...record };
    });
  }

  getSession(sid: string): Promise<S.SessionRecord | undefined> {
    return this.op(() => {
      const entry = this.sessions.get(sid);
      return entry ? { ...entry.record } : undefined;
    });
  }

  protected patchSession(sid: string, patch: CheckedSessionPatch): Promise<S.SessionRecord> {
    return this.op(() => {
      const entry = this.requireSession(sid);
      const r = entry.record;
      if (patch.tokenHash !== undefined) r.tokenHash = patch.tokenHash;
      if (patch.userId !== undefined && patch.userId !== r.userId) {
        this.indexUser(sid, r.userId, patch.userId);
        r.userId = patch.userId;
      }
      if (patch.node !== undefined) r.node = patch.node;
      if (patch.disconnectedAt !== undefined) r.disconnectedAt = patch.disconnectedAt;
      if (patch.expiresAt !== undefined) r.expiresAt = patch.expiresAt;
      if (patch.ackedSeq !== undefined) this.ack(entry, patch.ackedSeq);
      if (patch.inSeq !== undefined) r.inSeq = Math.max(r.inSeq, patch.inSeq);
      return { ...r };
    });
  }

  deleteSession(sid: string): Promise<boolean> {
    return this.op(() => this.removeSession(sid));
  }

  sessionsOfUser(userId: string): Promise<S.SessionRecord[]> {
    return this.op(() => {
      const sids = this.byUser.get(userId) ?? new Set<string>();
      const out: S.SessionRecord[] = [];
      for (const sid of sids) {
        const entry = this.sessions.get(sid);
        if (entry) out.push({ ...entry.record });
      }
      return out.sort((a, b) => a.createdAt - b.createdAt || (a.sid < b.sid ? -1 : 1));
    });
  }

  protected releaseConnected(now: number, expiresAt: number, node?: string): Promise<number> {
    return this.op(() => {
      let changed = 0;
      for (const { record } of this.sessions.values()) {
        if (record.disconnectedAt !== null) continue;
        if (node !== undefined && record.node !== node) continue;
        record.disconnectedAt = now;
        record.expiresAt = expiresAt;
        changed++;
      }
      return changed;
    });
  }

  appendSessionMessages(
    sid: string,
    messages: readonly S.SessionMessage[],
  ): Promise<S.SessionAppendResult> {
    return this.op(() => {
      const entry = this.requireSession(sid);
      const sizes = checkAppend(sid, entry.record.outSeq, messages);
      messages.forEach((m, i) => {
        const bytes = sizes[i] ?? 0;
        entry.log.push({ seq: m.seq, payload: m.payload, bytes });
        entry.logBytes += bytes;
      });
      entry.record.outSeq += messages.length;
      const { sessionMaxMessages, sessionMaxBytes } = this.options;
      const over = overflowDrops(
        entry.log.length,
        entry.logBytes,
        sessionMaxMessages,
        sessionMaxBytes,
        () => sizesOf(entry.log),
      );
      if (over.drop > 0) {
        entry.log.splice(0, over.drop);
        entry.logBytes -= over.bytes;
      }
      return { outSeq: entry.record.outSeq, dropped: over.drop };
    });
  }

  protected readSessionMessages(
    sid: string,
    afterSeq: number,
    { max, budget }: PageBounds,
  ): Promise<S.SessionReplay> {
    return this.op(() => {
      const entry = this.sessions.get(sid);
      if (!entry) return { messages: [], complete: false, outSeq: 0 };
      const { outSeq } = entry.record;
      const oldest = entry.log[0]?.seq ?? outSeq + 1;
      const start = Math.max(0, afterSeq + 1 - oldest);
      const messages = takePage(logFrom(entry.log, start), max, budget, (m) => m.bytes).map(
        ({ seq, payload }) => ({ seq, payload }),
      );
      return { messages, complete: canReplaySession(outSeq, oldest, afterSeq), outSeq };
    });
  }

  protected trimSession(sid: string, uptoSeq: number): Promise<void> {
    return this.op(() => {
      const entry = this.sessions.get(sid);
      if (entry) this.ack(entry, uptoSeq);
    });
  }

  // ---- topics ----

  protected appendToTopic(append: TopicAppend): Promise<S.Publication> {
    return this.op(() => this.topics.append(append, this.now()));
  }

  protected readPublications(
    topic: string,
    from: S.TopicPosition,
    page: PageBounds,
  ): Promise<S.TopicReplay> {
    return this.op(() => this.topics.after(topic, from, page, this.now()));
  }

  protected readLastPublications(
    topic: string,
    n: number,
    page: PageBounds,
  ): Promise<S.TopicSnapshot> {
    return this.op(() => this.topics.last(topic, n, page, this.now()));
  }

  protected readTopicHead(topic: string): Promise<S.TopicPosition> {
    return this.op(() => this.topics.head(topic, this.now()));
  }

  // ---- housekeeping ----

  protected removeExpired(now: number): Promise<S.SweepResult> {
    return this.op(() => {
      let expiredSessions = 0;
      for (const [sid, { record }] of this.sessions) {
        if (record.expiresAt !== null && record.expiresAt <= now) {
          this.removeSession(sid);
          expiredSessions++;
        }
      }
      const { trimmed, dropped } = this.topics.sweep(now);
      return { expiredSessions, trimmedPublications: trimmed, droppedTopics: dropped };
    });
  }

  protected readCounts(): Promise<Omit<S.StoreStats, 'kind' | 'sweeps'>> {
    return this.op(() => {
      let sessionMessages = 0;
      for (const s of this.sessions.values()) sessionMessages += s.log.length;
      const { topics, publications } = this.topics.counts();
      return {
        sessions: this.sessions.size,
        sessionMessages,
        topics,
        publications,
        transactions: 0,
        operations: this.operations,
        failedOperations: this.failedOperations,
        pendingOperations: 0,
        largestBatch: 1,
      };
    });
  }

  close(): Promise<void> {
    this.closed = true;
    this.stopSweep();
    return Promise.resolve();
  }

  protected canSweep(): boolean {
    return !this.closed;
  }

  // ---- internals ----

  private requireSession(sid: string): SessionEntry {
    const entry = this.sessions.get(sid);
    if (!entry) {
      throw new StoreError(StoreErrorCode.SESSION_NOT_FOUND, `session ${sid} not found`);
    }
    return entry;
  }

  private ack(entry: SessionEntry, uptoSeq: number): void {
    const r = entry.record;
    r.ackedSeq = Math.max(r.ackedSeq, Math.min(uptoSeq, r.outSeq));
    let n = 0;
    while (n < entry.log.length && (entry.log[n]?.seq ?? 0) <= r.ackedSeq) {
      entry.logBytes -= entry.log[n]?.bytes ?? 0;
      n++;
    }
    if (n > 0) entry.log.splice(0, n);
  }

  private removeSession(sid: string): boolean {
    const entry = this.sessions.get(sid);
    if (!entry) return false;
    this.sessions.delete(sid);
    this.indexUser(sid, entry.record.userId, null);
    return true;
  }

  private indexUser(sid: string, from: string | null, to: string | null): void {
    if (from !== null) {
      const set = this.byUser.get(from);
      set?.delete(sid);
      if (set?.size === 0) this.byUser.delete(from);
    }
    if (to !== null) {
      let set = this.byUser.get(to);
      if (!set) {
        set = new Set();
        this.byUser.set(to, set);
      }
      set.add(sid);
    }
  }
}

/** A log's messages from index `start` on, without copying it. */
function* logFrom(log: readonly LoggedMessage[], start: number): Generator<LoggedMessage> {
  for (let i = start; i < log.length; i++) yield log[i] as LoggedMessage;
}

/** Payload sizes of a log, oldest first, without copying it. */
function* sizesOf(log: readonly LoggedMessage[]): Generator<number> {
  for (const m of log) yield m.bytes;
}
