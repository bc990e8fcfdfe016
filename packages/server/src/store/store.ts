/**
 * The storage contract behind sessions, session logs and topic histories.
 *
 * Every method is async so a networked store (such as a later Redis store)
 * fits the same interface. Within one store instance, operations take effect
 * in call order: a read issued after a write (even one not awaited yet) sees
 * that write. Payloads are opaque strings: the server encodes once, the store
 * keeps the bytes, replay sends them unchanged. Every failure is a rejection
 * with a {@link StoreError}.
 */
import { TetherError } from '@tether/common';

/** A position in a topic's history: the epoch and the offset of a publication in it. */
export interface TopicPosition {
  /** Identifies one continuous history of the topic; a new epoch means older offsets are gone. */
  epoch: string;
  /** Offset within the epoch; the first publication is 1, 0 means "before the first". */
  offset: number;
}

/** A session as stored. The resume token itself is never stored, only its SHA-256. */
export interface SessionRecord {
  /** Session id, sent in `welcome.sid`. */
  sid: string;
  /**
   * Hex SHA-256 of the resume token; after a resume, also the token resumed with,
   * separated by a space (see `rotatedTokenHash` / `tokenMatches`).
   */
  tokenHash: string;
  /** The authenticated user, when the auth hook named one; `null` otherwise. */
  userId: string | null;
  /**
   * The server process that holds the session's connection, when the server
   * names its processes; lets a restarting process release only its own
   * sessions (`releaseSessions`). `null` when unnamed.
   */
  node: string | null;
  /** Creation time, ms since the epoch. */
  createdAt: number;
  /** When the last connection of the session closed; `null` while connected. */
  disconnectedAt: number | null;
  /** When the session may be forgotten (disconnect + resume window); `null` while connected. */
  expiresAt: number | null;
  /** Last server->client sequence number assigned (0 if none). */
  outSeq: number;
  /** Highest server->client sequence number the client acknowledged (cumulative). */
  ackedSeq: number;
  /** Highest client->server sequence number processed: the dedupe mark (0 if none). */
  inSeq: number;
}

/** What `createSession` needs. */
export interface NewSession {
  sid: string;
  /** The resume token in clear; the store keeps only its hash. */
  token: string;
  userId?: string | null;
  node?: string | null;
  createdAt: number;
  /** Normally absent (a new session is connected); set to create a session already disconnected. */
  disconnectedAt?: number | null;
  expiresAt?: number | null;
}

/**
 * Fields `updateSession` may change. `ackedSeq` and `inSeq` only move
 * forward: a smaller value is ignored, so a late or duplicated update never
 * re-opens a processed sequence. `token` replaces the stored hash (token
 * rotation); `previousToken`, given with it, stays valid too until the next rotation. `outSeq` is not here: only `appendSessionMessages` advances it,
 * in the same write as the messages, so the log and the counter never disagree.
 */
export interface SessionPatch {
  token?: string;
  /** With `token`: the token the session was resumed with, kept valid beside the new one. */
  previousToken?: string;
  userId?: string | null;
  node?: string | null;
  disconnectedAt?: number | null;
  expiresAt?: number | null;
  ackedSeq?: number;
  inSeq?: number;
}

/** One server->client message kept for replay. */
export interface SessionMessage {
  /** Its sequence number in the session, from 1. */
  seq: number;
  /** The encoded message (what is sent on replay), opaque to the store. */
  payload: string;
}

/** The result of `appendSessionMessages`. */
export interface SessionAppendResult {
  /** The session's `outSeq` after the append (the last appended seq). */
  outSeq: number;
  /**
   * How many of the oldest retained messages were dropped because the log went
   * over its count or byte bound. A resume from before them reports a gap.
   */
  dropped: number;
}

/** The result of `sessionMessagesAfter`. */
export interface SessionReplay {
  /** Retained messages with `seq > afterSeq`, in order, at most `limit` (and `maxBytes`). */
  messages: SessionMessage[];
  /**
   * True when every message after `afterSeq` up to `outSeq` is still retained
   * (and `afterSeq <= outSeq`); false is a gap: some were dropped by overflow,
   * or the session is unknown.
   */
  complete: boolean;
  /** The session's `outSeq` (0 for an unknown session). */
  outSeq: number;
}

/** One retained topic publication. */
export interface Publication {
  epoch: string;
  offset: number;
  /** Publication time, ms since the epoch (used for age-based retention). */
  time: number;
  /** The encoded payload, opaque to the store. */
  data: string;
  /** The encoded `pub` frame when the publisher stored one (same bytes on replay); else `null`. */
  frame: string | null;
}

/**
 * Builds the encoded `pub` frame once the store has assigned the position, so
 * live delivery and replay send identical bytes. Must be a pure function of
 * its argument: a networked store may call it outside the atomic step.
 */
export type PublicationEncoder = (publication: Omit<Publication, 'frame'>) => string;

/** The head of a topic and some of its history. */
export interface TopicSnapshot {
  /** The topic's current epoch. */
  epoch: string;
  /** Offset of the newest publication (0 if none yet). */
  offset: number;
  /** Publications in offset order. */
  publications: Publication[];
}

/** The result of `publicationsAfter`. */
export interface TopicReplay extends TopicSnapshot {
  /**
   * True when `publications` are exactly the ones after the asked position
   * (cut at `limit`: if the last offset is below `offset`, ask again from it).
   * False when the position cannot be honoured: another epoch, an offset older
   * than the retained history, or one beyond the head. `publications` is then empty.
   */
  recovered: boolean;
}

/** What one `sweep` removed. */
export interface SweepResult {
  /** Sessions past `expiresAt`, deleted with their logs. */
  expiredSessions: number;
  /** Publications older than the history age bound (or over its count bound). */
  trimmedPublications: number;
  /** Topics forgotten because their history was empty and they were idle (new epoch next time). */
  droppedTopics: number;
}

/** Counters and sizes, for stats and metrics endpoints. */
export interface StoreStats {
  /** `memory`, `sqlite`, or a custom store's name. */
  kind: string;
  sessions: number;
  /** Retained session messages, all sessions together. */
  sessionMessages: number;
  topics: number;
  /** Retained publications, all topics together. */
  publications: number;
  /** Write transactions committed (one per batch; always 0 for the memory store). */
  transactions: number;
  /** Operations completed (reads and writes). */
  operations: number;
  /** Operations that failed. */
  failedOperations: number;
  /** Operations queued and not yet run. */
  pendingOperations: number;
  /** Largest number of operations run in one batch. */
  largestBatch: number;
  /** Sweeps run. */
  sweeps: number;
}

/**
 * Durable (or not) state of sessions and topics. Implementations: the memory
 * store (default; state dies with the process) and the SQLite store (state
 * survives restarts and SIGKILL).
 */
export interface Store {
  /** `memory`, `sqlite`, or a custom store's name. */
  readonly kind: string;

  /** Creates a session; rejects with `SESSION_EXISTS` if the sid is taken. */
  createSession(session: NewSession): Promise<SessionRecord>;
  /** The stored session, expired or not (see `checkResume`), or `undefined`. */
  getSession(sid: string): Promise<SessionRecord | undefined>;
  /** Applies `patch`; rejects with `SESSION_NOT_FOUND` for an unknown sid. */
  updateSession(sid: string, patch: SessionPatch): Promise<SessionRecord>;
  /** Deletes a session and its log; false if there was none. */
  deleteSession(sid: string): Promise<boolean>;
  /** Every stored session of a user (including disconnected ones), oldest first. */
  sessionsOfUser(userId: string): Promise<SessionRecord[]>;
  /**
   * Marks sessions still marked connected as disconnected at `now`, expiring at
   * `expiresAt`; only those of `node` when given. A server calls it at startup
   * so the sessions a crash left "connected" get a resume window and then expire.
   * Resolves with how many sessions it changed.
   */
  releaseSessions(now: number, expiresAt: number, node?: string): Promise<number>;

  /**
   * Appends messages to a session's log and advances its `outSeq` in the same
   * write. Sequence numbers must continue `outSeq` without a gap
   * (`SEQ_CONFLICT` otherwise). Trims the oldest messages beyond the log bounds.
   */
  appendSessionMessages(
    sid: string,
    messages: readonly SessionMessage[],
  ): Promise<SessionAppendResult>;
  /**
   * Retained messages after `afterSeq`, and whether that is all of them: a page of at
   * most `limit` messages and `maxBytes` payload bytes (UTF-8), but at least one
   * message when there is one, however large. Both default to unlimited.
   */
  sessionMessagesAfter(
    sid: string,
    afterSeq: number,
    limit?: number,
    maxBytes?: number,
  ): Promise<SessionReplay>;
  /**
   * Records a cumulative ack: drops messages up to `uptoSeq` and raises
   * `ackedSeq` (clamped to `outSeq`). Unknown sessions are ignored (an ack may
   * arrive after expiry).
   */
  trimSessionMessages(sid: string, uptoSeq: number): Promise<void>;

  /**
   * Assigns the next offset of `topic` atomically (several processes sharing
   * the store stay contiguous) and retains the publication; starts the topic's
   * history (a new epoch) if it has none. `encode`, when given, builds the
   * frame stored with it.
   */
  appendPublication(
    topic: string,
    data: string,
    time: number,
    encode?: PublicationEncoder,
  ): Promise<Publication>;
  /**
   * Publications after `from`, exactly, or `recovered: false`: a page of at most `limit`
   * publications and `maxBytes` bytes (UTF-8, of the stored frame, else of the data),
   * but at least one when there is one, however large. Both default to unlimited.
   */
  publicationsAfter(
    topic: string,
    from: TopicPosition,
    limit?: number,
    maxBytes?: number,
  ): Promise<TopicReplay>;
  /**
   * The newest `n` retained publications (fewer if fewer are retained), oldest first;
   * with `limit` or `maxBytes`, only the oldest page of them (bounded as in
   * `publicationsAfter`), so a huge `n` reads no more than a page: the rest is read
   * with `publicationsAfter` from the page's last offset.
   */
  lastPublications(
    topic: string,
    n: number,
    limit?: number,
    maxBytes?: number,
  ): Promise<TopicSnapshot>;
  /** The topic's epoch and newest offset; starts the topic's history (offset 0) if it has none. */
  topicHead(topic: string): Promise<TopicPosition>;

  /**
   * Expires sessions with `expiresAt <= now`, trims topic histories by age and
   * count, forgets idle empty topics. The store also runs it on its own timer.
   */
  sweep(now?: number): Promise<SweepResult>;
  stats(): Promise<StoreStats>;
  /** Runs pending writes, stops the sweep, releases files. Idempotent. */
  close(): Promise<void>;

  /**
   * Present on a store that several server processes share (the Redis store): its
   * health, live fan-out between the processes, and the signal that it lost its data.
   */
  readonly shared?: SharedStore;
}

/** Whether a networked store can take operations now. */
export interface StoreHealth {
  up: boolean;
  /** Why not, when down (for `/readyz`, logs and refusals). */
  cause?: string;
}

/** What a store shared by several server processes adds to {@link Store}. */
export interface SharedStore {
  /** This process's name in the store: the sessions it holds carry it (`SessionRecord.node`). */
  readonly node: string;
  health(): StoreHealth;
  /** Called on every change of {@link health}; returns the disposer. */
  onHealth(listener: (health: StoreHealth) => void): () => void;
  /**
   * Every publication of `topic` appended by any process (this one included), in offset
   * order. Best effort: a message lost while the store was unreachable is not repeated,
   * so a listener that sees a hole reads the store. One subscription per topic and
   * process, however many listeners. Returns the disposer.
   */
  subscribePublications(topic: string, listener: (publication: Publication) => void): () => void;
  /**
   * Called when the store came back without its data (restarted empty): every topic has
   * a new epoch and the sessions are gone. Returns the disposer.
   */
  onReset(listener: () => void): () => void;
  /**
   * Marks `sid` disconnected at `disconnectedAt`, resumable until `expiresAt`, only while
   * THIS process holds it (`SessionRecord.node`): a process whose client resumed on another
   * one meanwhile must not mark the session disconnected under it. Resolves with whether
   * it did.
   */
  detachSession(sid: string, disconnectedAt: number, expiresAt: number): Promise<boolean>;
  /**
   * Events of the sessions this process holds, caused by another process: it appended
   * messages (`appended`, deliver them), or a resume there took the session over
   * (`moved`, let it go). Best effort like {@link subscribePublications}: after an outage
   * a listener reads the store. Returns the disposer.
   */
  onSessionEvent(listener: (event: SessionEvent) => void): () => void;
  /**
   * Called each time this process's subscriptions (publications, session events) are in
   * place again after its link to the store was down, which can be later than
   * {@link onHealth} says `up`: what was published before was not heard here, so the
   * listener reads the store. Returns the disposer.
   */
  onResubscribed(listener: () => void): () => void;
}

/** What {@link SharedStore.onSessionEvent} reports. */
export type SessionEvent =
  /** Another process appended to the session's log; its `outSeq` is now at least this. */
  | { type: 'appended'; sid: string; outSeq: number }
  /** A resume on another process took the session over. */
  | { type: 'moved'; sid: string };

/** Stable codes of {@link StoreError}. */
export const StoreErrorCode = {
  /** The store was closed. */
  CLOSED: 'STORE_CLOSED',
  /** `updateSession`/`appendSessionMessages` for a sid that does not exist (expired?). */
  SESSION_NOT_FOUND: 'SESSION_NOT_FOUND',
  /** `createSession` with a sid that exists. */
  SESSION_EXISTS: 'SESSION_EXISTS',
  /** Appended sequence numbers do not continue the session's `outSeq`. */
  SEQ_CONFLICT: 'SEQ_CONFLICT',
  /** A malformed argument (negative offset, empty topic, ...). */
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',
  /** The database stayed locked by another process past the busy timeout. Retryable. */
  BUSY: 'STORE_BUSY',
  /** Disk full. */
  FULL: 'STORE_FULL',
  /** An I/O error, a read-only file, a file that cannot be opened. */
  IO: 'STORE_IO',
  /** The file is not a database, or is damaged. */
  CORRUPT: 'STORE_CORRUPT',
  /** The file was written by a newer Tether (a schema version this code does not know). */
  SCHEMA_TOO_NEW: 'STORE_SCHEMA_TOO_NEW',
  /** A networked store cannot reach its server (Redis down). Retryable. */
  UNAVAILABLE: 'STORE_UNAVAILABLE',
  /** Any other failure of the underlying database. */
  FAILED: 'STORE_FAILED',
} as const;

export type StoreErrorCodeName = (typeof StoreErrorCode)[keyof typeof StoreErrorCode];

/** Every failure of a store: a stable `code`, whether a retry helps, and the driver's `cause`. */
export class StoreError extends TetherError {
  override name = 'StoreError';
  declare readonly code: StoreErrorCodeName;

  constructor(
    code: StoreErrorCodeName,
    message: string,
    options: { retryable?: boolean; cause?: unknown } = {},
  ) {
    super(code, message, options);
  }
}
