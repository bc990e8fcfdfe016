import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AUTH_SUBPROTOCOL_PREFIX,
  authSubprotocol,
  PROTOCOL_VERSION,
  SUBPROTOCOL,
  tokenFromSubprotocols,
} from '../src/index.js';

/** RFC 7230 `token` characters: what a Sec-WebSocket-Protocol value may hold. */
const HTTP_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

describe('version', () => {
  it('speaks v1 through the tether.v1 subprotocol', () => {
    expect(PROTOCOL_VERSION).toBe(1);
    expect(SUBPROTOCOL).toBe('tether.v1');
    expect(AUTH_SUBPROTOCOL_PREFIX).toBe('tether.auth.');
  });
});

describe('authSubprotocol', () => {
  it('encodes the UTF-8 bytes of the token as base64url without padding', () => {
    expect(authSubprotocol('abc')).toBe('tether.auth.YWJj');
    expect(authSubprotocol('a')).toBe('tether.auth.YQ');
    expect(authSubprotocol('ab')).toBe('tether.auth.YWI');
    // Standard base64 '+' and '/' become '-' and '_'.
    expect(authSubprotocol('>>>?')).toBe('tether.auth.Pj4-Pw');
    expect(authSubprotocol('???')).toBe('tether.auth.Pz8_');
    // U+00E9 is two UTF-8 bytes (C3 A9).
    expect(authSubprotocol('é')).toBe('tether.auth.w6k');
    expect(authSubprotocol('')).toBe('tether.auth.');
  });

  it('always yields a valid subprotocol value', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', minLength: 1 }), (token) => {
        const value = authSubprotocol(token);
        expect(value.startsWith(AUTH_SUBPROTOCOL_PREFIX)).toBe(true);
        expect(value).toMatch(HTTP_TOKEN);
        expect(value.slice(AUTH_SUBPROTOCOL_PREFIX.length)).toMatch(/^[A-Za-z0-9_-]+$/);
      }),
      { numRuns: 500 },
    );
  });
});

describe('tokenFromSubprotocols', () => {
  it('round-trips ASCII, JWT-like and Unicode tokens', () => {
    const tokens = [
      'secret',
      'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig-_/+=',
      'ünïcødé',
      '日本語のトークン',
      '🔑🗝️ family: 👨‍👩‍👧',
      'e\u0301',
      'spaces and\ttabs\nnewline',
      '\u0000nul',
      '',
    ];
    for (const token of tokens) {
      expect(tokenFromSubprotocols([SUBPROTOCOL, authSubprotocol(token)])).toBe(token);
    }
  });

  it('round-trips any string of Unicode scalar values', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 200 }),
        fc.string({ unit: 'grapheme', maxLength: 50 }),
        (a, b) => {
          expect(tokenFromSubprotocols([authSubprotocol(a)])).toBe(a);
          expect(tokenFromSubprotocols([SUBPROTOCOL, authSubprotocol(b), 'other'])).toBe(b);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('finds the auth entry wherever it is offered; the first one wins', () => {
    expect(tokenFromSubprotocols([authSubprotocol('x'), SUBPROTOCOL])).toBe('x');
    expect(
      tokenFromSubprotocols(['chat', SUBPROTOCOL, authSubprotocol('y'), authSubprotocol('z')]),
    ).toBe('y');
  });

  it('is undefined when no auth subprotocol is offered', () => {
    expect(tokenFromSubprotocols([])).toBeUndefined();
    expect(tokenFromSubprotocols([SUBPROTOCOL])).toBeUndefined();
    expect(
      tokenFromSubprotocols(['tether.authx.YWJj', 'Tether.auth.YWJj', 'auth.YWJj']),
    ).toBeUndefined();
  });

  it('is undefined when the entry is malformed', () => {
    const malformed = [
      'tether.auth.YQ==', // padding is not base64url
      'tether.auth.Y', // 6 bits cannot encode a byte
      'tether.auth.YWJjZ', // the same, after whole groups
      'tether.auth.YW Jj',
      'tether.auth.YW.Jj',
      'tether.auth.!!!!',
      'tether.auth.%41%42',
      'tether.auth.w6', // a truncated two-byte UTF-8 sequence (C3)
      'tether.auth.__4', // bytes FF FE: not UTF-8
      'tether.auth.7aCA', // ED A0 80: an encoded surrogate, not UTF-8
    ];
    for (const entry of malformed) {
      expect(tokenFromSubprotocols([SUBPROTOCOL, entry]), entry).toBeUndefined();
    }
  });

  it('never throws, whatever is offered', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.string(),
            fc.string({ unit: 'binary' }).map((s) => AUTH_SUBPROTOCOL_PREFIX + s),
          ),
        ),
        (offered) => {
          const token = tokenFromSubprotocols(offered);
          expect(token === undefined || typeof token === 'string').toBe(true);
        },
      ),
      { numRuns: 1000 },
    );
  });
});
