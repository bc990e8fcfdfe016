import { randomBytes } from 'node:crypto';

/** A random id of `bytes` random bytes, base64url. */
export function randomId(bytes = 12): string {
  return randomBytes(bytes).toString('base64url');
}
