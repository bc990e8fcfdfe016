import { packNullableTime, packTime, unpackNullableTime, unpackTime } from './packed-time.js';
import type { SessionRecord } from './store.js';
import { StoreError, StoreErrorCode } from './store.js';
import type { CheckedSessionPatch } from './store-base.js';
import { overflowDrops } from './store-rules.js';

/** One server->client message in a session's log. */
export interface LoggedMessage {
  seq: number;
  payload: string;
  bytes: number;
}

/** Hex SHA-256 digests as `hashToken` / `rotatedTokenHash` write them: one, or several separated by spaces. */
const HEX_HASHES = /^[0-9a-f]{64}( [0-9a-f]{64})*$/;
/** Bytes of one SHA-256 digest. */
const DIGEST_BYTES = 32;

/**
 * The stored `tokenHash` kept as its raw digest bytes, one Latin-1 character each: 32
 * characters a hash instead of 64 hex ones (a one-byte string of 48 bytes instead of 80).
 */
function packHash(tokenHash: string): string {
  // One digest (every new session): hex pairs stop decoding at the first non-hex one, so
  // 32 bytes from 64 characters is a digest (upper-case hex is the same digest).
  if (tokenHash.length === DIGEST_BYTES * 2) {
    const bytes = Buffer.from(tokenHash, 'hex');
    if (bytes.length === DIGEST_BYTES) return bytes.toString('latin1');
  }
  if (!HEX_HASHES.test(tokenHash)) {
    throw new StoreError(StoreErrorCode.FAILED, 'memory store: tokenHash is not hex SHA-256');
  }
  return Buffer.from(tokenHash.replaceAll(' ', ''), 'hex').toString('latin1');
}

/** The hex form of {@link packHash}'s result, hashes separated by spaces as stored. */
function unpackHash(packed: string): string {
  const hex = Buffer.from(packed, 'latin1').toString('hex');
  const hashes: string[] = [];
  for (let i = 0; i < hex.length; i += DIGEST_BYTES * 2)
    hashes.push(hex.slice(i, i + DIGEST_BYTES * 2));
  return hashes.join(' ');
}

/** A session's messages not acknowledged yet, oldest first, and their bytes. */
class SessionLog {
  readonly items: LoggedMessage[] = [];
  private total = 0;

  get bytes(): number {
    return this.total;
  }

  push(message: LoggedMessage): void {
    this.items.push(message);
    this.total += message.bytes;
  }

  /** Drops the `n` oldest messages, `bytes` in all. */
  dropOldest(n: number, bytes: number): void {
    if (n === 0) return;
    this.items.splice(0, n);
    this.total -= bytes;
  }

  /** Drops the messages up to `seq`. */
  dropUpTo(seq: number): void {
    let n = 0;
    let bytes = 0;
    for (const m of this.items) {
      if (m.seq > seq) break;
      bytes += m.bytes;
      n++;
    }
    this.dropOldest(n, bytes);
  }
}

/**
 * One session of the memory store: its record in one object, every number a small
 * integer where it can be (times: see packed-time.ts), the log allocated with the first
 * message and dropped once acknowledged. An idle connected session (the common case)
 * costs this object and its packed token hash.
 */
export class MemorySession {
  private hash: string;
  private created: number;
  private disconnected: number | null;
  private expires: number | null;
  /** Messages not acknowledged yet (undefined while there are none). */
  private messages: SessionLog | undefined = undefined;
  private user: string | null;
  private nodeName: string | null;
  private out: number;
  private acked: number;
  private processed: number;

  constructor(record: SessionRecord) {
    this.hash = packHash(record.tokenHash);
    this.user = record.userId;
    this.nodeName = record.node;
    this.created = packTime(record.createdAt);
    this.disconnected = packNullableTime(record.disconnectedAt);
    this.expires = packNullableTime(record.expiresAt);
    this.out = record.outSeq;
    this.acked = record.ackedSeq;
    this.processed = record.inSeq;
  }

  /** A copy of the record (the store's callers never hold the entry itself). */
  record(sid: string): SessionRecord {
    return {
      sid,
      tokenHash: unpackHash(this.hash),
      userId: this.user,
      node: this.nodeName,
      createdAt: unpackTime(this.created),
      disconnectedAt: unpackNullableTime(this.disconnected),
      expiresAt: unpackNullableTime(this.expires),
      outSeq: this.out,
      ackedSeq: this.acked,
      inSeq: this.processed,
    };
  }

  get userId(): string | null {
    return this.user;
  }

  get node(): string | null {
    return this.nodeName;
  }

  get connected(): boolean {
    return this.disconnected === null;
  }

  get outSeq(): number {
    return this.out;
  }

  /** Whether the resume window ended at or before `now`. */
  expiredAt(now: number): boolean {
    return this.expires !== null && unpackTime(this.expires) <= now;
  }

  /** Messages kept for replay. */
  get log(): readonly LoggedMessage[] {
    return this.messages?.items ?? [];
  }

  /** Applies a checked patch (the user index is the store's: it compares `userId` first). */
  patch(patch: CheckedSessionPatch): void {
    if (patch.tokenHash !== undefined) this.hash = packHash(patch.tokenHash);
    if (patch.userId !== undefined) this.user = patch.userId;
    if (patch.node !== undefined) this.nodeName = patch.node;
    if (patch.disconnectedAt !== undefined)
      this.disconnected = packNullableTime(patch.disconnectedAt);
    if (patch.expiresAt !== undefined) this.expires = packNullableTime(patch.expiresAt);
    if (patch.ackedSeq !== undefined) this.ack(patch.ackedSeq);
    if (patch.inSeq !== undefined) this.processed = Math.max(this.processed, patch.inSeq);
  }

  /** The server restarted or released its sessions: disconnected at `now`, resumable until `expiresAt`. */
  release(now: number, expiresAt: number): void {
    this.disconnected = packTime(now);
    this.expires = packTime(expiresAt);
  }

  /**
   * Appends checked messages (`sizes`: their bytes) and drops the oldest past the
   * bounds; returns how many were dropped.
   */
  append(
    messages: readonly { seq: number; payload: string }[],
    sizes: readonly number[],
    maxMessages: number,
    maxBytes: number,
  ): number {
    this.messages ??= new SessionLog();
    const log = this.messages;
    messages.forEach((m, i) => {
      log.push({ seq: m.seq, payload: m.payload, bytes: sizes[i] ?? 0 });
    });
    this.out += messages.length;
    const over = overflowDrops(log.items.length, log.bytes, maxMessages, maxBytes, () =>
      sizesOf(log.items),
    );
    log.dropOldest(over.drop, over.bytes);
    return over.drop;
  }

  /** The client acknowledged up to `uptoSeq`: those messages leave the log. */
  ack(uptoSeq: number): void {
    this.acked = Math.max(this.acked, Math.min(uptoSeq, this.out));
    const log = this.messages;
    if (log === undefined) return;
    log.dropUpTo(this.acked);
    // An acknowledged log is dropped: an idle session holds none.
    if (log.items.length === 0) this.messages = undefined;
  }
}

/** Payload sizes of a log, oldest first, without copying it. */
function* sizesOf(log: readonly LoggedMessage[]): Generator<number> {
  for (const m of log) yield m.bytes;
}
