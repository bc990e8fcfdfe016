/**
 * The memory store's compact session entry (issue 13): the token hash kept as raw digest
 * bytes and wall-clock times as small offsets must read back exactly as they were given,
 * whatever the clock (real, fake at 0, fractional, far away).
 */
import { describe, expect, it } from 'vitest';
import { MemorySession } from '../src/store/memory-session.js';
import { packTime, TIME_BASE, unpackTime } from '../src/store/packed-time.js';
import { hashToken, rotatedTokenHash } from '../src/store/session-token.js';
import type { SessionRecord } from '../src/store/store.js';

function record(over: Partial<SessionRecord> = {}): SessionRecord {
  return {
    sid: 's1',
    tokenHash: hashToken('token-1'),
    userId: null,
    node: null,
    createdAt: Date.now(),
    disconnectedAt: null,
    expiresAt: null,
    outSeq: 0,
    ackedSeq: 0,
    inSeq: 0,
    ...over,
  };
}

describe('packed times', () => {
  it('read back exactly, for real, fake, fractional, negative and far-away clocks', () => {
    const times = [
      Date.now(),
      TIME_BASE,
      0,
      1,
      -1,
      1_000.5,
      0.1,
      Number.MAX_SAFE_INTEGER - TIME_BASE,
      -(2 ** 40),
      8.64e15,
      Number.POSITIVE_INFINITY,
    ];
    for (const t of times) expect(unpackTime(packTime(t))).toBe(t);
    expect(unpackTime(packTime(Number.NaN))).toBeNaN();
  });

  it('keeps a time near the process start as a 32-bit integer', () => {
    const packed = packTime(Date.now() + 60_000);
    expect(Number.isInteger(packed)).toBe(true);
    expect(packed).toBe(packed | 0);
  });
});

describe('MemorySession', () => {
  it('gives back the record it was built from', () => {
    const r = record({ userId: 'u1', node: 'n1', outSeq: 3, ackedSeq: 2, inSeq: 5 });
    expect(new MemorySession(r).record('s1')).toEqual(r);
  });

  it('keeps a rotated hash (two digests) and times set by patches exactly', () => {
    const entry = new MemorySession(record({ createdAt: 12.25 }));
    const tokenHash = rotatedTokenHash('token-2', 'token-1');
    entry.patch({ tokenHash, disconnectedAt: Date.now(), expiresAt: 0, inSeq: 4 });
    const back = entry.record('s1');
    expect(back.tokenHash).toBe(tokenHash);
    expect(back.tokenHash.split(' ')).toHaveLength(2);
    expect(back.createdAt).toBe(12.25);
    expect(back.expiresAt).toBe(0);
    expect(back.inSeq).toBe(4);
    expect(entry.expiredAt(0)).toBe(true);
  });

  it('refuses a token hash that is not hex SHA-256', () => {
    expect(() => new MemorySession(record({ tokenHash: 'not-a-hash' }))).toThrow(/tokenHash/);
  });

  it('drops its log once everything in it is acknowledged', () => {
    const entry = new MemorySession(record());
    const messages = [
      { seq: 1, payload: 'a' },
      { seq: 2, payload: 'b' },
    ];
    expect(entry.append(messages, [1, 1], 100, 1_000)).toBe(0);
    expect(entry.outSeq).toBe(2);
    entry.ack(1);
    expect(entry.log.map((m) => m.seq)).toEqual([2]);
    entry.ack(2);
    expect(entry.log).toEqual([]);
    expect(entry.record('s1').ackedSeq).toBe(2);
  });
});
