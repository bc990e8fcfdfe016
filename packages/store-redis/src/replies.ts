/**
 * The scripts' replies and arguments: how records, publications and optional values are
 * encoded between the Redis store and its Lua scripts.
 */
import { randomBytes } from 'node:crypto';
import {
  type PageBounds,
  type Publication,
  type SessionMessage,
  type SessionRecord,
  StoreError,
  StoreErrorCode,
  type TopicSnapshot,
} from '@tether/server/store';

/** A reply of a script. */
export type Reply = string | number | null | Reply[];

/** Error replies of the scripts start with one of these codes (a StoreErrorCode key). */
export const SCRIPT_CODES = ['SESSION_EXISTS', 'SESSION_NOT_FOUND', 'SEQ_CONFLICT'] as const;

/** Encodes an optional, nullable argument for the scripts: '' absent, '-' null, '=value'. */
export function opt(value: string | number | null | undefined): string {
  if (value === undefined) return '';
  if (value === null) return '-';
  return `=${value}`;
}

function num(value: string | undefined): number | null {
  return value === undefined ? null : Number(value);
}

export function recordOf(flat: Reply): SessionRecord | undefined {
  if (!Array.isArray(flat) || flat.length === 0) return undefined;
  const h: Record<string, string> = {};
  for (let i = 0; i < flat.length; i += 2) h[String(flat[i])] = String(flat[i + 1]);
  return {
    sid: '',
    tokenHash: h.th ?? '',
    userId: h.u ?? null,
    node: h.n ?? null,
    createdAt: Number(h.c),
    disconnectedAt: num(h.d),
    expiresAt: num(h.e),
    outSeq: Number(h.o),
    ackedSeq: Number(h.a),
    inSeq: Number(h.i),
  };
}

export function withSid(sid: string, flat: Reply): SessionRecord | undefined {
  const r = recordOf(flat);
  if (r) r.sid = sid;
  return r;
}

/** Publications from a flat script reply: offset, time, data, frame per publication. */
function publicationsOf(epoch: string, flat: Reply[], start: number): Publication[] {
  const out: Publication[] = [];
  for (let i = start; i + 3 < flat.length + 1 && i < flat.length; i += 4) {
    out.push({
      epoch,
      offset: Number(flat[i]),
      time: Number(flat[i + 1]),
      data: String(flat[i + 2]),
      frame: flat[i + 3] === null || flat[i + 3] === undefined ? null : String(flat[i + 3]),
    });
  }
  return out;
}

/** A topic's epoch, head offset and publications from a flat script reply, from index `at`. */
export function snapshotOf(flat: Reply[], at: number): TopicSnapshot {
  const epoch = String(flat[at]);
  return { epoch, offset: Number(flat[at + 1]), publications: publicationsOf(epoch, flat, at + 2) };
}

/** A page's bounds as script arguments: most items, most bytes (`-1`: unbounded). */
export function pageArgs(page: PageBounds): [max: number, budget: number] {
  return [bound(page.max), bound(page.budget)];
}

/** A 16-digit number no payload is likely to contain: the offset marker of frame templates. */
export function offsetMarker(): number {
  return 1_000_000_000_000_000 + (randomBytes(6).readUIntBE(0, 6) % 8_000_000_000_000_000);
}

export function publicationOf(r: Reply[], time: number, data: string): Publication {
  const [offset, epoch, stored] = r;
  return Object.freeze({
    epoch: String(epoch),
    offset: Number(offset),
    time,
    data,
    frame: stored === null || stored === undefined ? null : String(stored),
  });
}

/** A limit as the scripts take it: -1 for none. */
function bound(limit: number): number {
  return Number.isFinite(limit) ? limit : -1;
}

export function occurrences(text: string, needle: string): number {
  let n = 0;
  for (let i = text.indexOf(needle); i !== -1; i = text.indexOf(needle, i + needle.length)) n++;
  return n;
}

/** The arguments of the append script: `head`, the count, the appending node, then each seq and payload. */
export function appendArgs(
  head: (string | number)[],
  node: string,
  messages: readonly SessionMessage[],
): (string | number)[] {
  if (!Array.isArray(messages) || messages.length === 0) {
    throw new StoreError(StoreErrorCode.INVALID_ARGUMENT, 'messages: expected a non-empty array');
  }
  const args = [...head, messages.length, node];
  messages.forEach((m, i) => {
    if (typeof m.payload !== 'string') {
      throw new StoreError(
        StoreErrorCode.INVALID_ARGUMENT,
        `messages[${i}].payload: expected a string`,
      );
    }
    args.push(typeof m.seq === 'number' ? m.seq : String(m.seq), m.payload);
  });
  return args;
}
