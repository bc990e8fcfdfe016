import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/**
 * The key a request presents: `Authorization: Bearer KEY`, `Authorization: Basic` with
 * the key as the password (any user name: what a browser's login prompt sends, so the
 * dashboard opens in a browser), else `X-Api-Key: KEY`; undefined when none is there.
 */
export function requestApiKey(request: IncomingMessage): string | undefined {
  const authorization = request.headers.authorization;
  if (typeof authorization === 'string') {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (match !== null) return match[1];
    const basic = /^Basic\s+([A-Za-z0-9+/=]{1,1024})\s*$/i.exec(authorization);
    if (basic !== null) {
      const decoded = Buffer.from(basic[1] as string, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon >= 0 && colon < decoded.length - 1) return decoded.slice(colon + 1);
    }
  }
  const header = request.headers['x-api-key'];
  const value = Array.isArray(header) ? header[0] : header;
  return value === undefined || value === '' ? undefined : value.trim();
}

/**
 * Whether `given` equals `expected`, in time that does not depend on where they differ
 * (both are hashed first, so their lengths leak nothing either).
 */
export function apiKeyMatches(given: string | undefined, expected: string): boolean {
  if (given === undefined) return false;
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}
