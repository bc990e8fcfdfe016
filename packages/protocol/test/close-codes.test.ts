import { describe, expect, it } from 'vitest';
import {
  CLOSE_CODES,
  type CloseAction,
  CloseCode,
  closeCodeInfo,
  isSendableCloseCode,
  shouldReconnect,
} from '../src/index.js';

const ACTIONS: readonly CloseAction[] = [
  'reconnect',
  'reconnect-after-hint',
  'reconnect-now',
  'stop',
];

describe('close-code table', () => {
  it('has a row for every named close code, named like the constant', () => {
    for (const [key, code] of Object.entries(CloseCode)) {
      const info = closeCodeInfo(code);
      expect(info.code).toBe(code);
      expect(info.name).toBe(key.toLowerCase());
      expect(CLOSE_CODES).toContain(info);
    }
  });

  it('rows are in code order, unique, complete and use a known action', () => {
    const codes = CLOSE_CODES.map((r) => r.code);
    expect(codes).toEqual([...codes].sort((a, b) => a - b));
    expect(new Set(codes).size).toBe(codes.length);
    expect(new Set(CLOSE_CODES.map((r) => r.name)).size).toBe(codes.length);
    for (const row of CLOSE_CODES) {
      expect(Number.isInteger(row.code)).toBe(true);
      expect(row.name).toMatch(/^[a-z_]+$/);
      expect(row.meaning.length).toBeGreaterThan(0);
      expect(row.hint.length).toBeGreaterThan(0);
      expect(ACTIONS).toContain(row.action);
      // Markdown tables in docs/protocol.md are generated from these rows.
      expect(`${row.meaning}${row.hint}`).not.toContain('|');
    }
  });

  it('final codes do not reconnect', () => {
    for (const code of [1000, 1002, 1003, 1007, 1015, 4001, 4003, 4004, 4010, 4011, 4013, 4999]) {
      expect(closeCodeInfo(code).action, String(code)).toBe('stop');
      expect(shouldReconnect(code), String(code)).toBe(false);
    }
  });

  it('4002 token_expired reconnects: the client fetches a fresh token for the new connection', () => {
    expect(CloseCode.TOKEN_EXPIRED).toBe(4002);
    expect(closeCodeInfo(4002)).toMatchObject({ name: 'token_expired', action: 'reconnect' });
    expect(isSendableCloseCode(4002)).toBe(true);
  });

  it('transient codes reconnect, each with its documented action', () => {
    const expected: Record<number, CloseAction> = {
      1001: 'reconnect',
      1005: 'reconnect',
      1006: 'reconnect',
      1008: 'reconnect-after-hint',
      1009: 'reconnect',
      1011: 'reconnect',
      1012: 'reconnect-after-hint',
      1013: 'reconnect-after-hint',
      1014: 'reconnect',
      4000: 'reconnect',
      4002: 'reconnect',
      4008: 'reconnect',
      4009: 'reconnect-now',
      4012: 'reconnect',
    };
    for (const [code, action] of Object.entries(expected)) {
      expect(closeCodeInfo(Number(code)).action, code).toBe(action);
      expect(shouldReconnect(Number(code)), code).toBe(true);
    }
  });

  it('every row is either in the final list or in the transient list above', () => {
    // Guards the two lists above: a new row must be classified on purpose.
    expect(CLOSE_CODES.filter((r) => r.action === 'stop').map((r) => r.code)).toEqual([
      1000, 1002, 1003, 1007, 1015, 4001, 4003, 4004, 4010, 4011, 4013, 4999,
    ]);
    expect(CLOSE_CODES).toHaveLength(26);
  });

  it('unknown codes reconnect with backoff', () => {
    for (const code of [0, 999, 1004, 1016, 2000, 2999, 3000, 3500, 3999, 4500, 4998, 5000, -1]) {
      const info = closeCodeInfo(code);
      expect(info).toMatchObject({ code, name: 'unknown', action: 'reconnect' });
      expect(info.meaning).toContain(String(code));
      expect(shouldReconnect(code)).toBe(true);
    }
  });
});

describe('isSendableCloseCode', () => {
  it('allows the standard codes a server may send and the private ranges', () => {
    for (const code of [
      1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000,
      4001, 4008, 4009, 4998,
    ]) {
      expect(isSendableCloseCode(code), String(code)).toBe(true);
    }
  });

  it('refuses reserved, client-side-only and out-of-range codes', () => {
    for (const code of [
      0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 4004, 4012, 4999, 5000, -1000,
    ]) {
      expect(isSendableCloseCode(code), String(code)).toBe(false);
    }
  });

  it('refuses values that are not integers', () => {
    for (const code of [1000.5, 3000.1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(isSendableCloseCode(code), String(code)).toBe(false);
    }
  });

  it('every table row that is not client-side or reserved is sendable', () => {
    const notSent = [1005, 1006, 1015, 4004, 4012, 4999];
    for (const row of CLOSE_CODES) {
      expect(isSendableCloseCode(row.code), String(row.code)).toBe(!notSent.includes(row.code));
    }
  });
});
