import { encodeFrame, type Json } from '@tether/protocol';
import { MessageTooBigError, QueueFullError } from './errors.js';

/** UTF-8 length of a string, without allocating (what the frame costs on the wire). */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      bytes += 4;
      i += 1;
    } else bytes += 3;
  }
  return bytes;
}

interface Settle {
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** A reliable message: numbered, kept until the server's cumulative ack covers it. */
export interface MsgEntry {
  kind: 'msg';
  seq: number;
  data: Json;
  encoded: string;
  bytes: number;
  /** Written to the current socket (reset on every reconnect, so it is resent). */
  sent: boolean;
  settle: Settle;
}

/** A request not yet written to a socket; it leaves the outbox once sent. */
export interface ReqEntry {
  kind: 'req';
  id: number;
  encoded: string;
  bytes: number;
  sent: boolean;
}

export type OutboxEntry = MsgEntry | ReqEntry;

/**
 * The outbound queue: every `send()` gets the session's next `seq` and stays
 * here until a cumulative `ack` covers it; after a reconnect everything still
 * here goes out again, in order, with the same numbers (the server dedupes),
 * or renumbered from 1 when the server started a new session.
 *
 * Bounded by count and bytes. Overflow policy: reject the newest. The new
 * message is refused (QUEUE_FULL) and nothing already queued is dropped, so the
 * sequence has no holes and the producer feels the backpressure at once.
 */
export class Outbox {
  private entries: OutboxEntry[] = [];
  private totalBytes = 0;
  private nextSeq = 1;

  constructor(
    private readonly maxCount: number,
    private readonly maxBytes: number,
  ) {}

  get count(): number {
    return this.entries.length;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  /** Highest seq handed out so far in this session (0 if none). */
  get lastSeq(): number {
    return this.nextSeq - 1;
  }

  /** Throws {@link QueueFullError} when one more entry of `bytes` would not fit. */
  checkRoom(bytes: number): void {
    if (this.entries.length + 1 > this.maxCount)
      throw new QueueFullError('maxQueue', this.maxCount);
    if (this.totalBytes + bytes > this.maxBytes)
      throw new QueueFullError('maxQueueBytes', this.maxBytes);
  }

  /**
   * Queues a reliable message; throws {@link QueueFullError} when full and
   * {@link MessageTooBigError} when it exceeds `maxMessageBytes`.
   */
  pushMsg(data: Json, settle: Settle, maxMessageBytes: number): MsgEntry {
    const seq = this.nextSeq;
    const encoded = encodeFrame({ t: 'msg', seq, data });
    const bytes = utf8Length(encoded);
    if (bytes > maxMessageBytes) throw new MessageTooBigError(bytes, maxMessageBytes);
    this.checkRoom(bytes);
    this.nextSeq += 1;
    const entry: MsgEntry = { kind: 'msg', seq, data, encoded, bytes, sent: false, settle };
    this.add(entry);
    return entry;
  }

  /** Queues an encoded request; throws {@link QueueFullError} when full. */
  pushReq(id: number, encoded: string): ReqEntry {
    const bytes = utf8Length(encoded);
    this.checkRoom(bytes);
    const entry: ReqEntry = { kind: 'req', id, encoded, bytes, sent: false };
    this.add(entry);
    return entry;
  }

  /** Entries not yet written to the current socket, oldest first (a copy). */
  unsent(): OutboxEntry[] {
    return this.entries.filter((entry) => !entry.sent);
  }

  /** Marks `entry` written; a request leaves the outbox. */
  markSent(entry: OutboxEntry): void {
    entry.sent = true;
    if (entry.kind === 'req') this.remove(entry);
  }

  /** Removes an unsent request (it timed out); false when already sent. */
  removeReq(id: number): boolean {
    const entry = this.entries.find((e) => e.kind === 'req' && e.id === id);
    if (!entry) return false;
    this.remove(entry);
    return true;
  }

  /** A cumulative ack: settles and drops every message with `seq <= upTo`. Returns how many. */
  ack(upTo: number): number {
    let acked = 0;
    const kept: OutboxEntry[] = [];
    const done: MsgEntry[] = [];
    for (const entry of this.entries) {
      if (entry.kind === 'msg' && entry.seq <= upTo) {
        this.totalBytes -= entry.bytes;
        done.push(entry);
        acked += 1;
      } else kept.push(entry);
    }
    if (acked === 0) return 0;
    this.entries = kept;
    for (const entry of done) entry.settle.resolve();
    return acked;
  }

  /**
   * A new connection got its `welcome`. Resumed: the server processed up to
   * `ack`; the rest goes out again with the same numbers. Not resumed: a new
   * session, whose numbering starts at 1 again, so every message still here is
   * renumbered in order (the server may have processed some of them already:
   * at-least-once across a lost session, never silently dropped).
   */
  onSession(resumed: boolean, ack: number): void {
    if (resumed) this.ack(ack);
    else {
      this.nextSeq = 1;
      this.totalBytes = 0;
      for (const entry of this.entries) {
        if (entry.kind === 'msg') {
          entry.seq = this.nextSeq++;
          entry.encoded = encodeFrame({ t: 'msg', seq: entry.seq, data: entry.data });
          entry.bytes = utf8Length(entry.encoded);
        }
        this.totalBytes += entry.bytes;
      }
    }
    for (const entry of this.entries) entry.sent = false;
  }

  /** Removes every queued request; returns their ids. */
  removeRequests(): number[] {
    const ids: number[] = [];
    for (const entry of [...this.entries]) {
      if (entry.kind === 'req') {
        ids.push(entry.id);
        this.remove(entry);
      }
    }
    return ids;
  }

  /** Drops everything: messages reject with `err`; returns the request ids that were queued. */
  clear(err: unknown): number[] {
    const entries = this.entries;
    this.entries = [];
    this.totalBytes = 0;
    const reqIds: number[] = [];
    for (const entry of entries) {
      if (entry.kind === 'msg') entry.settle.reject(err);
      else reqIds.push(entry.id);
    }
    return reqIds;
  }

  private add(entry: OutboxEntry): void {
    this.entries.push(entry);
    this.totalBytes += entry.bytes;
  }

  private remove(entry: OutboxEntry): void {
    const index = this.entries.indexOf(entry);
    if (index >= 0) {
      this.entries.splice(index, 1);
      this.totalBytes -= entry.bytes;
    }
  }
}
