/**
 * Resume tokens are stored as SHA-256 hashes and compared in constant time.
 *
 * Why a hash: the token is a bearer secret; anyone holding it takes over the
 * session. The store is a file (or a Redis) that backups, support dumps and
 * read-only replicas copy around, so it keeps only the digest: a leaked store
 * does not leak live sessions. Why plain SHA-256 and no salt or slow KDF: the
 * token is server-generated randomness (128 bits or more), not a password, so
 * there is nothing to brute-force or precompute; a slow hash would only cost
 * CPU on every resume. Why constant time: comparing with `===` stops at the
 * first differing byte, and a timing oracle on the digest is cheap to remove.
 */
import { hash, timingSafeEqual } from 'node:crypto';
import type { SessionRecord } from './store.js';
import { checkName } from './store-rules.js';

/**
 * Hex SHA-256 of a resume token (UTF-8): what the store keeps. One-shot `hash`: a third
 * of the time of a Hash object, on every connect.
 */
export function hashToken(token: string): string {
  return hash('sha256', token, 'hex');
}

/**
 * The stored `tokenHash` after a rotation to `token`: its hash, then, when the session was
 * resumed with `previousToken`, that one's too. Every resume issues a new token, but the
 * `welcome` carrying it can be lost with its connection; the token the client resumed
 * with therefore stays valid until the client resumes with the newer one, so a lost
 * `welcome` never costs a session. A copied token still dies at its owner's next resume
 * after that.
 */
export function rotatedTokenHash(token: string, previousToken?: string): string {
  const current = hashToken(token);
  return previousToken === undefined ? current : `${current} ${hashToken(previousToken)}`;
}

/** {@link rotatedTokenHash} for a store's `updateSession`, with both tokens' names checked. */
export function rotatedHash(token: string, previousToken: string | undefined): string {
  return rotatedTokenHash(
    checkName('token', token),
    previousToken === undefined ? undefined : checkName('previousToken', previousToken),
  );
}

/**
 * Whether `token` is one of the tokens whose hashes `tokenHash` holds (one, or two
 * separated by a space: see {@link rotatedTokenHash}), compared in constant time.
 */
export function tokenMatches(tokenHash: string, token: string): boolean {
  const actual = hash('sha256', token, 'buffer');
  let match = false;
  for (const hex of tokenHash.split(' ')) {
    const expected = Buffer.from(hex, 'hex');
    // Every stored hash is compared, so the time does not tell which one matched.
    if (expected.length === actual.length && timingSafeEqual(expected, actual)) match = true;
  }
  return match;
}

/** Outcome of a resume attempt against the stored session. */
export type ResumeCheck =
  | { ok: true; session: SessionRecord }
  | { ok: false; reason: 'unknown' | 'invalid' | 'expired' };

/**
 * Decides whether a stored session may be resumed with `token` at `now`:
 * `unknown` (no such session), `invalid` (wrong token; checked before expiry
 * so a wrong token learns nothing about the session), `expired` (its resume
 * window has passed, even if no sweep has deleted it yet).
 */
export function checkResume(
  session: SessionRecord | undefined,
  token: string,
  now: number,
): ResumeCheck {
  if (!session) return { ok: false, reason: 'unknown' };
  if (!tokenMatches(session.tokenHash, token)) return { ok: false, reason: 'invalid' };
  if (session.expiresAt !== null && session.expiresAt <= now) {
    return { ok: false, reason: 'expired' };
  }
  return { ok: true, session };
}
