import { randomBytes } from 'node:crypto';

/**
 * Random bytes drawn from the CSPRNG in blocks of this size: a connect draws a
 * connection id, a session id and a resume token (45 bytes); one `randomBytes` call
 * per ~90 connects instead of three per connect.
 */
const POOL_BYTES = 4_096;
let pool = Buffer.alloc(0);
let used = 0;

/**
 * A random id of `bytes` random bytes, base64url. Bytes come from a pool filled by
 * `randomBytes` (the same CSPRNG); each byte is handed out once and zeroed once used,
 * so an id never shares bytes with another and the pool keeps no copy of one.
 */
export function randomId(bytes = 12): string {
  if (bytes > POOL_BYTES) return randomBytes(bytes).toString('base64url');
  if (used + bytes > pool.length) {
    pool = randomBytes(POOL_BYTES);
    used = 0;
  }
  const end = used + bytes;
  const id = pool.toString('base64url', used, end);
  pool.fill(0, used, end);
  used = end;
  return id;
}
