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

/**
 * A reliable frame: a `msg` from `send()`, a `req` from
 * `request(..., { reliable: true })`, or a `publish` from
 * `publish(..., { reliable: true })`. Numbered from the session's counter
 * (shared by all kinds, as the protocol says) and kept until the server's
 * cumulative ack covers it, whatever happened to a request's reply. A publish
 * is kept until it has its answer too: after a reconnect it is resent (same
 * `seq`) until the server repeats the position it got.
 */
export interface ReliableEntry {
  kind: 'reliable';
  seq: number;
  data: Json | undefined;
  /** Set for a reliable request: its method and id (the pending request may be settled already). */
  request: { id: number; method: string } | undefined;
  /** Set for a reliable publish: its topic and id (the pending publish may be settled already). */
  publish: { id: number; topic: string } | undefined;
  /** The server answered it (`published`, or a final `error`); a message's answer is its ack. */
  answered: boolean;
  /** An ack covered it; a publish stays until it is answered too. */
  acked: boolean;
  encoded: string;
  bytes: number;
  /** Written to the current socket (reset on every reconnect, so it is resent). */
  sent: boolean;
  /** Written to a socket of the current session at least once: the server may have processed it. */
  written: boolean;
  /** `send()`'s promise; resolved by the ack. */
  settle: Settle | undefined;
}

/** A frame sent at most once (a plain request, a publish); it leaves the outbox once written. */
export interface OnceEntry {
  kind: 'once';
  id: number;
  encoded: string;
  bytes: number;
  sent: boolean;
}

export type OutboxEntry = ReliableEntry | OnceEntry;

/** A reliable frame carried into a new session (numbered anew from 1, in order). */
export interface Renumbered {
  entry: ReliableEntry;
  previousSeq: number;
  /** It had been written to the old session: the server may have processed it there. */
  maybeProcessed: boolean;
}

function encodeReliable(
  entry: Pick<ReliableEntry, 'seq' | 'data' | 'request' | 'publish'>,
): string {
  const { seq, data, request, publish } = entry;
  if (publish !== undefined) {
    const { id, topic } = publish;
    return encodeFrame({ t: 'publish', topic, data: data ?? null, id, seq });
  }
  if (request === undefined) return encodeFrame({ t: 'msg', seq, data: data ?? null });
  return data === undefined
    ? encodeFrame({ t: 'req', id: request.id, method: request.method, seq })
    : encodeFrame({ t: 'req', id: request.id, method: request.method, data, seq });
}

/** A reliable publish waits for its answer (the position), not only for the ack. */
function awaitsAnswer(entry: ReliableEntry): boolean {
  return entry.publish !== undefined && !entry.answered;
}

/**
 * The outbound queue: every reliable frame gets the session's next `seq` and
 * stays here until a cumulative `ack` covers it; after a reconnect everything
 * still here goes out again, in order, with the same numbers (the server
 * dedupes), or renumbered from 1 when the server started a new session.
 *
 * Bounded by count and bytes. Overflow policy: reject the newest. The new
 * message is refused (QUEUE_FULL) and nothing already queued is dropped, so the
 * sequence has no holes and the producer feels the backpressure at once.
 */
export class Outbox {
  private entries: OutboxEntry[] = [];
  /**
   * How many entries at the front were written to the current socket. Frames
   * go out in order, so the written ones are always a prefix, and a written
   * one-shot frame leaves at once: the prefix is the reliable frames in flight.
   * Lets `flush()` find the next frame without scanning or copying the queue.
   */
  private sentCount = 0;
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
   * Queues a reliable message (`settle` set) or request (`request` set);
   * throws {@link QueueFullError} when full and {@link MessageTooBigError}
   * when it exceeds `maxMessageBytes`.
   */
  pushReliable(
    data: Json | undefined,
    settle: Settle | undefined,
    request: { id: number; method: string } | undefined,
    maxMessageBytes: number,
    publish?: { id: number; topic: string },
  ): ReliableEntry {
    const seq = this.nextSeq;
    const encoded = encodeReliable({ seq, data, request, publish });
    const bytes = utf8Length(encoded);
    if (bytes > maxMessageBytes) throw new MessageTooBigError(bytes, maxMessageBytes);
    this.checkRoom(bytes);
    this.nextSeq += 1;
    const entry: ReliableEntry = {
      kind: 'reliable',
      seq,
      data,
      request,
      publish,
      answered: false,
      acked: false,
      encoded,
      bytes,
      sent: false,
      written: false,
      settle,
    };
    this.add(entry);
    return entry;
  }

  /**
   * Queues an encoded one-shot frame (request, publish); throws
   * {@link QueueFullError} when full and {@link MessageTooBigError} when it
   * exceeds `maxMessageBytes`.
   */
  pushOnce(id: number, encoded: string, maxMessageBytes: number): OnceEntry {
    const bytes = utf8Length(encoded);
    if (bytes > maxMessageBytes) throw new MessageTooBigError(bytes, maxMessageBytes);
    this.checkRoom(bytes);
    const entry: OnceEntry = { kind: 'once', id, encoded, bytes, sent: false };
    this.add(entry);
    return entry;
  }

  /** The oldest entry not yet written to the current socket (the next to go out). */
  nextUnsent(): OutboxEntry | undefined {
    return this.entries[this.sentCount];
  }

  /** Whether some reliable entry was written to the current socket and not acknowledged yet. */
  hasInFlight(): boolean {
    return this.sentCount > 0;
  }

  /** Marks `entry` (the one {@link nextUnsent} returned) written; a one-shot entry leaves the outbox. */
  markSent(entry: OutboxEntry): void {
    entry.sent = true;
    if (entry.kind === 'reliable') entry.written = true;
    // Gone meanwhile (cleared): nothing left to move.
    if (this.entries[this.sentCount] !== entry) return;
    if (entry.kind === 'once') this.removeAt(this.sentCount);
    else this.sentCount += 1;
  }

  /**
   * Reliable entries from `seq` on are written again (the server dropped
   * one of them, or never acknowledged them): they are marked unsent, and the
   * next flush resends them in order. The server deduplicates by `seq`.
   */
  rewind(seq = 0): void {
    // The written prefix holds reliable entries in `seq` order: unmark from its end.
    while (this.sentCount > 0) {
      const entry = this.entries[this.sentCount - 1];
      if (entry === undefined || entry.kind !== 'reliable' || entry.seq < seq) break;
      entry.sent = false;
      this.sentCount -= 1;
    }
  }

  /** Removes an unsent one-shot entry (it timed out); false when already sent or not one-shot. */
  removeOnce(id: number): boolean {
    const index = this.entries.findIndex((e) => e.kind === 'once' && e.id === id);
    if (index < 0) return false;
    this.removeAt(index);
    return true;
  }

  /**
   * A cumulative ack: drops every reliable entry with `seq <= upTo` (a publish
   * only once answered: until then it is marked acked and stays), resolves
   * the messages' promises, and returns the dropped entries.
   */
  ack(upTo: number): ReliableEntry[] {
    const kept: OutboxEntry[] = [];
    const done: ReliableEntry[] = [];
    let sentDone = 0;
    this.entries.forEach((entry, index) => {
      if (entry.kind === 'reliable' && entry.seq <= upTo && awaitsAnswer(entry)) {
        entry.acked = true;
        kept.push(entry);
      } else if (entry.kind === 'reliable' && entry.seq <= upTo) {
        this.totalBytes -= entry.bytes;
        done.push(entry);
        if (index < this.sentCount) sentDone += 1;
      } else kept.push(entry);
    });
    if (done.length === 0) return done;
    this.entries = kept;
    this.sentCount -= sentDone;
    for (const entry of done) entry.settle?.resolve();
    return done;
  }

  /**
   * Reliable publish `id` got its answer (`published`, or a final `error`):
   * it leaves once acked too. False when no such entry is queued.
   */
  answered(id: number): boolean {
    const index = this.entries.findIndex((e) => e.kind === 'reliable' && e.publish?.id === id);
    const entry = this.entries[index];
    if (entry === undefined || entry.kind !== 'reliable') return false;
    entry.answered = true;
    if (entry.acked) this.removeAt(index);
    return true;
  }

  /**
   * The server refused reliable frame `seq` for good (`error` with `final`):
   * a message's `send()` rejects with `err` now (the ack that follows drops
   * it); returns the entry, or undefined when none has that number.
   */
  refused(seq: number, err: unknown): ReliableEntry | undefined {
    const index = this.entries.findIndex((e) => e.kind === 'reliable' && e.seq === seq);
    const entry = this.entries[index];
    if (entry === undefined || entry.kind !== 'reliable') return undefined;
    entry.answered = true;
    const settle = entry.settle;
    entry.settle = undefined;
    settle?.reject(err);
    if (entry.acked) this.removeAt(index);
    return entry;
  }

  /**
   * A new connection got its `welcome`; everything goes out again.
   *
   * Resumed: the server processed up to `ack`; those entries are dropped
   * (and returned in `acked`), the rest are resent with the numbers following
   * `ack`. They are normally their own numbers; only when entries were
   * discarded locally in between (`close()` rejects what was queued) are the
   * rest renumbered down, which is safe because the server processes in order
   * and has processed nothing after `ack`.
   *
   * Not resumed: a new session, whose numbering starts at 1 again, so every
   * reliable entry still here is renumbered in order (those written before may
   * have been processed in the old session: at-least-once across a lost
   * session, never silently dropped). All of them are returned in `renumbered`.
   */
  onSession(
    resumed: boolean,
    ack: number,
  ): { acked: ReliableEntry[]; renumbered: Renumbered[]; unanswered: ReliableEntry[] } {
    const acked = resumed ? this.ack(ack) : [];
    const renumbered: Renumbered[] = [];
    // Publishes the old session acked but never answered: a new session cannot answer them.
    const unanswered: ReliableEntry[] = [];
    if (!resumed) {
      this.entries = this.entries.filter((entry) => {
        if (entry.kind !== 'reliable' || !entry.acked) return true;
        unanswered.push(entry);
        return false;
      });
    }
    this.nextSeq = resumed ? ack + 1 : 1;
    this.totalBytes = 0;
    this.sentCount = 0;
    for (const entry of this.entries) {
      if (entry.kind === 'reliable' && entry.acked) {
        // Processed under this number: resent as it is, the server repeats its answer.
        entry.sent = false;
        this.totalBytes += entry.bytes;
        continue;
      }
      if (entry.kind === 'reliable') {
        const previousSeq = entry.seq;
        const seq = this.nextSeq++;
        if (seq !== previousSeq) {
          entry.seq = seq;
          entry.encoded = encodeReliable(entry);
          entry.bytes = utf8Length(entry.encoded);
        }
        if (!resumed) {
          // Sent again as a new frame of the new session, even when its number happens to match.
          renumbered.push({ entry, previousSeq, maybeProcessed: entry.written });
          entry.written = false;
        }
      }
      entry.sent = false;
      this.totalBytes += entry.bytes;
    }
    return { acked, renumbered, unanswered };
  }

  /** Removes every queued one-shot entry; returns their ids. */
  removeOnceEntries(): number[] {
    const ids: number[] = [];
    // One-shot entries are never in the written prefix, so `sentCount` stays.
    this.entries = this.entries.filter((entry) => {
      if (entry.kind !== 'once') return true;
      ids.push(entry.id);
      this.totalBytes -= entry.bytes;
      return false;
    });
    return ids;
  }

  /**
   * Drops everything: messages reject with `err`; returns the ids of the
   * requests and publishes that were queued (reliable requests included).
   */
  clear(err: unknown): number[] {
    const entries = this.entries;
    this.entries = [];
    this.totalBytes = 0;
    this.sentCount = 0;
    const ids: number[] = [];
    for (const entry of entries) {
      if (entry.kind === 'once') ids.push(entry.id);
      else if (entry.request) ids.push(entry.request.id);
      else if (entry.publish) ids.push(entry.publish.id);
      else entry.settle?.reject(err);
    }
    return ids;
  }

  private add(entry: OutboxEntry): void {
    this.entries.push(entry);
    this.totalBytes += entry.bytes;
  }

  private removeAt(index: number): void {
    const [entry] = this.entries.splice(index, 1);
    if (entry === undefined) return;
    this.totalBytes -= entry.bytes;
    if (index < this.sentCount) this.sentCount -= 1;
  }
}
