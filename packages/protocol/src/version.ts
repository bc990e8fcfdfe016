/** The protocol version carried in `hello` and `welcome`. */
export const PROTOCOL_VERSION = 1;

/** The WebSocket subprotocol a client must offer and the server selects. */
export const SUBPROTOCOL = 'tether.v1';

/**
 * Browsers cannot set headers on a WebSocket handshake, so a client may carry
 * its token as a second offered subprotocol: `tether.auth.<base64url(token)>`.
 * The server never selects it; it only reads it.
 */
export const AUTH_SUBPROTOCOL_PREFIX = 'tether.auth.';

/** Encodes a token as an offered subprotocol (base64url, no padding). */
export function authSubprotocol(token: string): string {
  const bytes = new TextEncoder().encode(token);
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  const b64 = btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  return AUTH_SUBPROTOCOL_PREFIX + b64;
}

/** Reads a token from an offered `tether.auth.*` subprotocol; undefined when absent or malformed. */
export function tokenFromSubprotocols(offered: readonly string[]): string | undefined {
  const entry = offered.find((p) => p.startsWith(AUTH_SUBPROTOCOL_PREFIX));
  if (!entry) return undefined;
  const b64 = entry.slice(AUTH_SUBPROTOCOL_PREFIX.length).replace(/-/g, '+').replace(/_/g, '/');
  if (!/^[A-Za-z0-9+/]*$/.test(b64)) return undefined;
  try {
    const binary = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
    const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}
