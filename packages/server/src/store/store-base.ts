/**
 * The one place a store's public methods check their arguments: {@link StoreBase}
 * validates names, counts, pages and publications, hashes resume tokens, runs the
 * periodic sweep, and then calls the backend's protected hooks with checked values.
 * The memory, SQLite and Redis stores extend it, so they cannot drift on what they
 * accept or on the errors they give.
 */
import { Sweep } from '@tether/common';
import { hashToken, rotatedHash } from './session-token.js';
import {
  type NewSession,
  type Publication,
  type PublicationEncoder,
  type SessionPatch,
  type SessionRecord,
  type SessionReplay,
  StoreError,
  StoreErrorCode,
  type StoreStats,
  type SweepResult,
  type TopicPosition,
  type TopicReplay,
  type TopicSnapshot,
} from './store.js';
import type { ResolvedStoreOptions } from './store-options.js';
import { checkCount, checkName, checkPage, checkPublication } from './store-rules.js';

/** A replay page's checked bounds: most items and most bytes (`Infinity`: unbounded). */
export interface PageBounds {
  max: number;
  budget: number;
}

/** A publication to append, checked: what `appendToTopic` and `nextPublication` take. */
export interface TopicAppend {
  topic: string;
  /** The encoded payload, opaque to the store. */
  data: string;
  /** Publication time, ms since the epoch. */
  time: number;
  /** Builds the stored `pub` frame once the offset is known (see {@link PublicationEncoder}). */
  encode: PublicationEncoder | undefined;
}

/**
 * A {@link SessionPatch} checked, the new token already hashed: what a backend writes.
 * `ackedSeq` and `inSeq` only move forward: the backend keeps the larger value (and
 * clamps `ackedSeq` to `outSeq`).
 */
export interface CheckedSessionPatch extends Omit<SessionPatch, 'token' | 'previousToken'> {
  /** Replaces the stored hash (see `rotatedHash`). */
  tokenHash?: string;
}

/**
 * The methods of a {@link Store} that take arguments to check: each checks them once,
 * here, rejects malformed ones with `INVALID_ARGUMENT` (never a synchronous throw), then
 * calls the backend's hook. A backend `extends StoreBase implements Store`: it writes the
 * hooks and the methods with nothing to check (`getSession`, `deleteSession`,
 * `sessionsOfUser`, `appendSessionMessages`, whose seq check needs the stored `outSeq`,
 * and `close`).
 */
export abstract class StoreBase<O extends ResolvedStoreOptions = ResolvedStoreOptions> {
  abstract readonly kind: string;
  private sweeper: Sweep | undefined;
  private refused = 0;
  private sweeps = 0;

  constructor(protected readonly options: O) {}

  // ---- sessions ----

  createSession(init: NewSession): Promise<SessionRecord> {
    return this.checked(() =>
      this.insertSession({
        sid: checkName('sid', init.sid),
        tokenHash: hashToken(checkName('token', init.token)),
        userId: init.userId ?? null,
        node: init.node ?? null,
        createdAt: checkCount('createdAt', init.createdAt),
        disconnectedAt: init.disconnectedAt ?? null,
        expiresAt: init.expiresAt ?? null,
        outSeq: 0,
        ackedSeq: 0,
        inSeq: 0,
      }),
    );
  }

  updateSession(sid: string, patch: SessionPatch): Promise<SessionRecord> {
    return this.checked(() => {
      const checked: CheckedSessionPatch = {
        userId: patch.userId,
        node: patch.node,
        disconnectedAt: patch.disconnectedAt,
        expiresAt: patch.expiresAt,
      };
      if (patch.token !== undefined) {
        checked.tokenHash = rotatedHash(patch.token, patch.previousToken);
      }
      if (patch.ackedSeq !== undefined) checked.ackedSeq = checkCount('ackedSeq', patch.ackedSeq);
      if (patch.inSeq !== undefined) checked.inSeq = checkCount('inSeq', patch.inSeq);
      return this.patchSession(sid, checked);
    });
  }

  releaseSessions(now: number, expiresAt: number, node?: string): Promise<number> {
    return this.checked(() =>
      this.releaseConnected(checkCount('now', now), checkCount('expiresAt', expiresAt), node),
    );
  }

  sessionMessagesAfter(
    sid: string,
    afterSeq: number,
    limit?: number,
    maxBytes?: number,
  ): Promise<SessionReplay> {
    return this.checked(() =>
      this.readSessionMessages(sid, checkCount('afterSeq', afterSeq), checkPage(limit, maxBytes)),
    );
  }

  trimSessionMessages(sid: string, uptoSeq: number): Promise<void> {
    return this.checked(() => this.trimSession(sid, checkCount('uptoSeq', uptoSeq)));
  }

  // ---- topics ----

  appendPublication(
    topic: string,
    data: string,
    time: number,
    encode?: PublicationEncoder,
  ): Promise<Publication> {
    return this.checked(() => {
      checkPublication(time, data);
      return this.appendToTopic({ topic: checkName('topic', topic), data, time, encode });
    });
  }

  publicationsAfter(
    topic: string,
    from: TopicPosition,
    limit?: number,
    maxBytes?: number,
  ): Promise<TopicReplay> {
    return this.checked(() => {
      checkCount('from.offset', from.offset);
      return this.readPublications(checkName('topic', topic), from, checkPage(limit, maxBytes));
    });
  }

  lastPublications(
    topic: string,
    n: number,
    limit?: number,
    maxBytes?: number,
  ): Promise<TopicSnapshot> {
    return this.checked(() =>
      this.readLastPublications(
        checkName('topic', topic),
        checkCount('n', n),
        checkPage(limit, maxBytes),
      ),
    );
  }

  topicHead(topic: string): Promise<TopicPosition> {
    return this.checked(() => this.readTopicHead(checkName('topic', topic)));
  }

  // ---- housekeeping ----

  sweep(now?: number): Promise<SweepResult> {
    return this.checked(() =>
      this.removeExpired(checkCount('now', now ?? this.now())).then((result) => {
        this.sweeps++;
        return result;
      }),
    );
  }

  /** The backend's counters, with the calls refused here counted as failed operations. */
  stats(): Promise<StoreStats> {
    return this.readCounts().then((counts) => ({
      kind: this.kind,
      ...counts,
      failedOperations: counts.failedOperations + this.refused,
      sweeps: this.sweeps,
    }));
  }

  // ---- for backends ----

  /** Starts the periodic sweep (`sweepIntervalMs`; 0: none). Call once the store can run it. */
  protected startSweep(name: string): void {
    const { sweepIntervalMs, clock } = this.options;
    if (sweepIntervalMs <= 0 || this.sweeper) return;
    this.sweeper = new Sweep(name, sweepIntervalMs, () => this.sweepInBackground(), clock);
    this.sweeper.start();
  }

  /** Stops the periodic sweep; part of `close()`. */
  protected stopSweep(): void {
    this.sweeper?.stop();
  }

  /** Whether the periodic sweep should run now (false once closing; Redis: also while down). */
  protected abstract canSweep(): boolean;

  protected now(): number {
    return this.options.clock.now();
  }

  // ---- backend hooks: arguments already checked ----

  /** Stores a new session; rejects with `SESSION_EXISTS` when its sid is taken. */
  protected abstract insertSession(record: SessionRecord): Promise<SessionRecord>;
  /** Applies a patch; rejects with `SESSION_NOT_FOUND` for an unknown sid. */
  protected abstract patchSession(sid: string, patch: CheckedSessionPatch): Promise<SessionRecord>;
  protected abstract releaseConnected(
    now: number,
    expiresAt: number,
    node?: string,
  ): Promise<number>;
  protected abstract readSessionMessages(
    sid: string,
    afterSeq: number,
    page: PageBounds,
  ): Promise<SessionReplay>;
  protected abstract trimSession(sid: string, uptoSeq: number): Promise<void>;
  protected abstract appendToTopic(append: TopicAppend): Promise<Publication>;
  protected abstract readPublications(
    topic: string,
    from: TopicPosition,
    page: PageBounds,
  ): Promise<TopicReplay>;
  protected abstract readLastPublications(
    topic: string,
    n: number,
    page: PageBounds,
  ): Promise<TopicSnapshot>;
  protected abstract readTopicHead(topic: string): Promise<TopicPosition>;
  /** Expires sessions, trims and forgets topics as of `now`. */
  protected abstract removeExpired(now: number): Promise<SweepResult>;
  /** The backend's sizes and counters; `kind` and `sweeps` are filled in here. */
  protected abstract readCounts(): Promise<Omit<StoreStats, 'kind' | 'sweeps'>>;

  // ---- internals ----

  /** Runs `fn`, turning an argument check's throw into a counted rejection. */
  private checked<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return fn();
    } catch (err) {
      this.refused++;
      return Promise.reject(err);
    }
  }

  private sweepInBackground(): void {
    if (!this.canSweep()) return;
    this.sweep().catch((err: unknown) => {
      if (!this.canSweep()) return;
      this.options.onError(
        err instanceof StoreError
          ? err
          : new StoreError(StoreErrorCode.FAILED, `${this.kind} store sweep failed`, {
              cause: err,
            }),
      );
    });
  }
}
