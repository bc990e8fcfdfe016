/**
 * The library's default store: everything in this process's memory. Fast and
 * dependency-free; state dies with the process, so a restart starts every
 * topic in a new epoch and resumes of older sessions get `unknown`.
 */
import { type LoggedMessage, MemorySession } from './memory-session.js';
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
import { canReplaySession, checkAppend, takePage } from './store-rules.js';

/** Options of {@link MemoryStore}: only the shared ones. */
export type MemoryStoreOptions = StoreOptions;

/** A {@link Store} held in this process's memory. */
export class MemoryStore extends StoreBase implements S.Store {
  readonly kind = 'memory';
  private readonly sessions = new Map<string, MemorySession>();
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
      this.sessions.set(sid, new MemorySession(record));
      this.indexUser(sid, null, record.userId);
      return { ...record };
    });
  }

  getSession(sid: string): Promise<S.SessionRecord | undefined> {
    return this.op(() => {
      const entry = this.sessions.get(sid);
      return entry?.record(sid);
    });
  }

  protected patchSession(sid: string, patch: CheckedSessionPatch): Promise<S.SessionRecord> {
    return this.op(() => {
      const entry = this.requireSession(sid);
      if (patch.userId !== undefined && patch.userId !== entry.userId) {
        this.indexUser(sid, entry.userId, patch.userId);
      }
      entry.patch(patch);
      return entry.record(sid);
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
        if (entry) out.push(entry.record(sid));
      }
      return out.sort((a, b) => a.createdAt - b.createdAt || (a.sid < b.sid ? -1 : 1));
    });
  }

  protected releaseConnected(now: number, expiresAt: number, node?: string): Promise<number> {
    return this.op(() => {
      let changed = 0;
      for (const entry of this.sessions.values()) {
        if (!entry.connected) continue;
        if (node !== undefined && entry.node !== node) continue;
        entry.release(now, expiresAt);
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
      const sizes = checkAppend(sid, entry.outSeq, messages);
      const { sessionMaxMessages, sessionMaxBytes } = this.options;
      const dropped = entry.append(messages, sizes, sessionMaxMessages, sessionMaxBytes);
      return { outSeq: entry.outSeq, dropped };
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
      const { outSeq, log } = entry;
      const oldest = log[0]?.seq ?? outSeq + 1;
      const start = Math.max(0, afterSeq + 1 - oldest);
      const messages = takePage(logFrom(log, start), max, budget, (m) => m.bytes).map(
        ({ seq, payload }) => ({ seq, payload }),
      );
      return { messages, complete: canReplaySession(outSeq, oldest, afterSeq), outSeq };
    });
  }

  protected trimSession(sid: string, uptoSeq: number): Promise<void> {
    return this.op(() => {
      const entry = this.sessions.get(sid);
      entry?.ack(uptoSeq);
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
      for (const [sid, entry] of this.sessions) {
        if (entry.expiredAt(now)) {
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

  private requireSession(sid: string): MemorySession {
    const entry = this.sessions.get(sid);
    if (!entry) {
      throw new StoreError(StoreErrorCode.SESSION_NOT_FOUND, `session ${sid} not found`);
    }
    return entry;
  }

  private removeSession(sid: string): boolean {
    const entry = this.sessions.get(sid);
    if (!entry) return false;
    this.sessions.delete(sid);
    this.indexUser(sid, entry.userId, null);
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
