/**
 * The library's default store: everything in this process's memory. Fast and
 * dependency-free; state dies with the process, so a restart starts every
 * topic in a new epoch and resumes of older sessions get `unknown`.
 */
import { Sweep } from '@tether/common';
import { MemoryTopics } from './memory-topics.js';
import { hashToken, rotatedHash } from './session-token.js';
import {
  type NewSession,
  type Publication,
  type PublicationEncoder,
  type SessionAppendResult,
  type SessionMessage,
  type SessionPatch,
  type SessionRecord,
  type SessionReplay,
  type Store,
  StoreError,
  StoreErrorCode,
  type StoreStats,
  type SweepResult,
  type TopicPosition,
  type TopicReplay,
  type TopicSnapshot,
} from './store.js';
import {
  type ResolvedStoreOptions,
  resolveStoreOptions,
  type StoreOptions,
} from './store-options.js';
import {
  canReplaySession,
  checkAppend,
  checkCount,
  checkName,
  checkPage,
  overflowDrops,
  takePage,
} from './store-rules.js';

interface LoggedMessage {
  seq: number;
  payload: string;
  bytes: number;
}

interface SessionEntry {
  record: SessionRecord;
  log: LoggedMessage[];
  logBytes: number;
}

/** Options of {@link MemoryStore}: only the shared ones. */
export type MemoryStoreOptions = StoreOptions;

/** A {@link Store} held in this process's memory. */
export class MemoryStore implements Store {
  readonly kind = 'memory';
  private readonly options: ResolvedStoreOptions;
  private readonly sessions = new Map<string, SessionEntry>();
  private readonly byUser = new Map<string, Set<string>>();
  private readonly topics: MemoryTopics;
  private readonly sweeper: Sweep | undefined;
  private closed = false;
  private operations = 0;
  private failedOperations = 0;
  private sweeps = 0;

  constructor(options: MemoryStoreOptions = {}) {
    this.options = resolveStoreOptions(options, 'store');
    this.topics = new MemoryTopics(this.options);
    const { sweepIntervalMs, clock } = this.options;
    if (sweepIntervalMs > 0) {
      this.sweeper = new Sweep('store-sweep', sweepIntervalMs, () => this.sweepNow(), clock);
      this.sweeper.start();
    }
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

  createSession(init: NewSession): Promise<SessionRecord> {
    return this.op(() => {
      const sid = checkName('sid', init.sid);
      if (this.sessions.has(sid)) {
        throw new StoreError(StoreErrorCode.SESSION_EXISTS, `session ${sid} exists`);
      }
      const record: SessionRecord = {
        sid,
        tokenHash: hashToken(checkName('token', init.token)),
        userId: init.userId ?? null,
        node: init.node ?? null,
        createdAt: checkCount('createdAt', init.createdAt),
        disconnectedAt: init.disconnectedAt ?? null,
        expiresAt: init.expiresAt ?? null,
        outSeq: 0,
        ackedSeq: 0,
        inSeq: 0,
      };
      this.sessions.set(sid, { record, log: [], logBytes: 0 });
      this.indexUser(sid, null, record.userId);
      return { ...record };
    });
  }

  getSession(sid: string): Promise<SessionRecord | undefined> {
    return this.op(() => {
      const entry = this.sessions.get(sid);
      return entry ? { ...entry.record } : undefined;
    });
  }

  updateSession(sid: string, patch: SessionPatch): Promise<SessionRecord> {
    return this.op(() => {
      const entry = this.requireSession(sid);
      const r = entry.record;
      if (patch.token !== undefined) r.tokenHash = rotatedHash(patch.token, patch.previousToken);
      if (patch.userId !== undefined && patch.userId !== r.userId) {
        this.indexUser(sid, r.userId, patch.userId);
        r.userId = patch.userId;
      }
      if (patch.node !== undefined) r.node = patch.node;
      if (patch.disconnectedAt !== undefined) r.disconnectedAt = patch.disconnectedAt;
      if (patch.expiresAt !== undefined) r.expiresAt = patch.expiresAt;
      if (patch.ackedSeq !== undefined) {
        this.ack(entry, checkCount('ackedSeq', patch.ackedSeq));
      }
      if (patch.inSeq !== undefined) r.inSeq = Math.max(r.inSeq, checkCount('inSeq', patch.inSeq));
      return { ...r };
    });
  }

  deleteSession(sid: string): Promise<boolean> {
    return this.op(() => this.removeSession(sid));
  }

  sessionsOfUser(userId: string): Promise<SessionRecord[]> {
    return this.op(() => {
      const sids = this.byUser.get(userId) ?? new Set<string>();
      const out: SessionRecord[] = [];
      for (const sid of sids) {
        const entry = this.sessions.get(sid);
        if (entry) out.push({ ...entry.record });
      }
      return out.sort((a, b) => a.createdAt - b.createdAt || (a.sid < b.sid ? -1 : 1));
    });
  }

  releaseSessions(now: number, expiresAt: number, node?: string): Promise<number> {
    return this.op(() => {
      checkCount('now', now);
      checkCount('expiresAt', expiresAt);
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
    messages: readonly SessionMessage[],
  ): Promise<SessionAppendResult> {
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

  sessionMessagesAfter(
    sid: string,
    afterSeq: number,
    limit?: number,
    maxBytes?: number,
  ): Promise<SessionReplay> {
    return this.op(() => {
      checkCount('afterSeq', afterSeq);
      const { max, budget } = checkPage(limit, maxBytes);
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

  trimSessionMessages(sid: string, uptoSeq: number): Promise<void> {
    return this.op(() => {
      checkCount('uptoSeq', uptoSeq);
      const entry = this.sessions.get(sid);
      if (entry) this.ack(entry, uptoSeq);
    });
  }

  // ---- topics ----

  appendPublication(
    topic: string,
    data: string,
    time: number,
    encode?: PublicationEncoder,
  ): Promise<Publication> {
    return this.op(() => this.topics.append(topic, data, time, this.now(), encode));
  }

  publicationsAfter(
    topic: string,
    from: TopicPosition,
    limit?: number,
    maxBytes?: number,
  ): Promise<TopicReplay> {
    return this.op(() => this.topics.after(topic, from, this.now(), limit, maxBytes));
  }

  lastPublications(
    topic: string,
    n: number,
    limit?: number,
    maxBytes?: number,
  ): Promise<TopicSnapshot> {
    return this.op(() => this.topics.last(topic, n, this.now(), limit, maxBytes));
  }

  topicHead(topic: string): Promise<TopicPosition> {
    return this.op(() => this.topics.head(topic, this.now()));
  }

  // ---- housekeeping ----

  sweep(now?: number): Promise<SweepResult> {
    return this.op(() => this.sweepAt(checkCount('now', now ?? this.now())));
  }

  stats(): Promise<StoreStats> {
    return this.op(() => {
      let sessionMessages = 0;
      for (const s of this.sessions.values()) sessionMessages += s.log.length;
      const { topics, publications } = this.topics.counts();
      return {
        kind: this.kind,
        sessions: this.sessions.size,
        sessionMessages,
        topics,
        publications,
        transactions: 0,
        operations: this.operations,
        failedOperations: this.failedOperations,
        pendingOperations: 0,
        largestBatch: 1,
        sweeps: this.sweeps,
      };
    });
  }

  close(): Promise<void> {
    this.closed = true;
    this.sweeper?.stop();
    return Promise.resolve();
  }

  // ---- internals ----

  private sweepNow(): void {
    if (this.closed) return;
    try {
      this.sweepAt(this.options.clock.now());
    } catch (err) {
      this.failedOperations++;
      this.options.onError(
        err instanceof StoreError
          ? err
          : new StoreError(StoreErrorCode.FAILED, 'memory store sweep failed', { cause: err }),
      );
    }
  }

  private sweepAt(now: number): SweepResult {
    this.sweeps++;
    let expiredSessions = 0;
    for (const [sid, { record }] of this.sessions) {
      if (record.expiresAt !== null && record.expiresAt <= now) {
        this.removeSession(sid);
        expiredSessions++;
      }
    }
    const { trimmed, dropped } = this.topics.sweep(now);
    return { expiredSessions, trimmedPublications: trimmed, droppedTopics: dropped };
  }

  private now(): number {
    return this.options.clock.now();
  }

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
