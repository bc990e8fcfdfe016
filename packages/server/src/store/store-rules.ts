/**
 * Rules every store applies the same way: argument checks, epochs, what a
 * replay may promise, and which messages an overflowing log drops. Kept in
 * one place so the memory and SQLite stores (and later Redis) cannot drift.
 */
import { randomBytes } from 'node:crypto';
import { type Publication, type SessionMessage, StoreError, StoreErrorCode } from './store.js';
import type { TopicAppend } from './store-base.js';
import type { TopicBounds } from './topic-bounds.js';

/** A new random epoch id: 72 bits, 12 base64url characters. */
export function newEpoch(): string {
  return randomBytes(9).toString('base64url');
}

function invalid(message: string): StoreError {
  return new StoreError(StoreErrorCode.INVALID_ARGUMENT, message);
}

/** Checks a non-empty string argument (`sid`, `topic`, `userId`). */
export function checkName(what: string, value: string): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw invalid(`${what}: expected a non-empty string, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** Checks a non-negative safe integer argument (offsets, sequence numbers, counts, times). */
export function checkCount(what: string, value: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw invalid(`${what}: expected a non-negative integer, got ${String(value)}`);
  }
  return value;
}

/** Checks an optional limit: absent means unlimited. */
export function checkLimit(what: string, value: number | undefined): number {
  if (value === undefined) return Number.POSITIVE_INFINITY;
  return checkCount(what, value);
}

/**
 * Checks the bounds of one replay page (`limit` items, `maxBytes` bytes), as every read
 * of a session log or a topic history takes them: absent means unlimited.
 */
export function checkPage(
  limit: number | undefined,
  maxBytes: number | undefined,
): { max: number; budget: number } {
  return { max: checkLimit('limit', limit), budget: checkLimit('maxBytes', maxBytes) };
}

/**
 * A replay page from `items` (oldest first): at most `limit` items and `maxBytes`
 * bytes as `size` counts them, but always the first item, however large, so a
 * replay of one big message still moves on. Stops pulling from `items` as soon as
 * the page is full: a SQLite cursor reads no row past it.
 */
export function takePage<T>(
  items: Iterable<T>,
  limit: number,
  maxBytes: number,
  size: (item: T) => number,
): T[] {
  const page: T[] = [];
  if (limit === 0) return page;
  let bytes = 0;
  for (const item of items) {
    const next = bytes + size(item);
    if (page.length > 0 && next > maxBytes) break;
    page.push(item);
    bytes = next;
    if (page.length >= limit || bytes >= maxBytes) break;
  }
  return page;
}

/** The bytes of a publication a replay sends: its stored frame, else its data. */
export function publicationBytes(p: { frame: string | null; data: string }): number {
  return Buffer.byteLength(p.frame ?? p.data, 'utf8');
}

/** The bytes of a session message a replay sends. */
export function messageBytes(m: SessionMessage): number {
  return Buffer.byteLength(m.payload, 'utf8');
}

/**
 * Checks that appended messages continue `outSeq` without a gap and carry
 * string payloads; returns the byte size of each payload.
 */
export function checkAppend(
  sid: string,
  outSeq: number,
  messages: readonly SessionMessage[],
): number[] {
  if (!Array.isArray(messages) || messages.length === 0) {
    throw invalid('messages: expected a non-empty array');
  }
  const sizes: number[] = [];
  let expected = outSeq + 1;
  for (const m of messages) {
    if (m.seq !== expected) {
      throw new StoreError(
        StoreErrorCode.SEQ_CONFLICT,
        `session ${sid}: expected seq ${expected}, got ${String(m.seq)} (outSeq is ${outSeq})`,
      );
    }
    if (typeof m.payload !== 'string') {
      throw invalid(`messages[${expected - outSeq - 1}].payload: expected a string`);
    }
    sizes.push(Buffer.byteLength(m.payload, 'utf8'));
    expected++;
  }
  return sizes;
}

/**
 * Whether a topic position can be honoured exactly: same epoch, not beyond
 * the head, and not older than the oldest retained publication (`oldest` is
 * `head + 1` when nothing is retained).
 */
export function canReplayTopic(
  epoch: string,
  head: number,
  oldest: number,
  from: { epoch: string; offset: number },
): boolean {
  return from.epoch === epoch && from.offset <= head && from.offset >= oldest - 1;
}

/**
 * Whether every session message after `afterSeq` is retained (`oldest` is
 * `outSeq + 1` when the log is empty). A client claiming more than `outSeq`
 * was handed sequence numbers this store never recorded: not complete.
 */
export function canReplaySession(outSeq: number, oldest: number, afterSeq: number): boolean {
  return afterSeq <= outSeq && afterSeq >= oldest - 1;
}

/**
 * How many of the oldest messages an over-full log drops so that it holds at
 * most `maxCount` messages and `maxBytes` bytes; the newest message is always
 * kept, even when it alone is larger than `maxBytes`. `oldestSizes` yields
 * the payload sizes oldest first; iteration stops as soon as the log fits.
 */
export function overflowDrops(
  count: number,
  bytes: number,
  maxCount: number,
  maxBytes: number,
  oldestSizes: () => Iterable<number>,
): { drop: number; bytes: number } {
  let drop = 0;
  let dropped = 0;
  if (count <= maxCount && bytes <= maxBytes) return { drop, bytes: dropped };
  // Asked for only when needed: a SQLite cursor holds the connection until closed.
  for (const size of oldestSizes()) {
    if (count - drop <= 1) break;
    if (count - drop <= maxCount && bytes - dropped <= maxBytes) break;
    drop++;
    dropped += size;
  }
  return { drop, bytes: dropped };
}

/** Checks the arguments of a topic append: a timestamp and the encoded data string. */
export function checkPublication(time: number, data: string): void {
  checkCount('time', time);
  if (typeof data !== 'string') {
    throw new StoreError(StoreErrorCode.INVALID_ARGUMENT, 'data: expected a string');
  }
}

/**
 * The steps every store's append takes before it writes, in the order that keeps a
 * failure free of effects: the publication was checked (`StoreBase.appendPublication`)
 * before `start` begins the topic's history, the topic's bounds (a user `historyFor` may
 * throw) are resolved before an offset is taken, and the encoder runs before anything is committed. The store then
 * commits `pub` at the next offset and retains it when `maxCount` > 0.
 */
export function nextPublication<T extends { epoch: string; head: number }>(
  { topic, data, time, encode }: TopicAppend,
  bounds: TopicBounds,
  start: () => T,
): { topic: T; maxCount: number; pub: Publication } {
  const t = start();
  const { maxCount } = bounds.of(topic);
  const base = { epoch: t.epoch, offset: t.head + 1, time, data };
  return { topic: t, maxCount, pub: { ...base, frame: encode ? encode(base) : null } };
}
