import type { HelloFrame } from './frames.js';

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
  return AUTH_SUBPROTOCOL_PREFIX + base64url(token);
}

/** Reads a token from an offered `tether.auth.*` subprotocol; undefined when absent or malformed. */
export function tokenFromSubprotocols(offered: readonly string[]): string | undefined {
  return textFromSubprotocols(offered, AUTH_SUBPROTOCOL_PREFIX);
}

/**
 * Early hello: a client may carry its `hello` in the upgrade, as the offered
 * subprotocols `tether.v1.early` and `tether.hello.<base64url(hello JSON)>`. A server
 * that takes it selects `tether.v1.early` and answers with `welcome` right after the
 * upgrade: the connection is ready one round trip sooner. A server that does not
 * selects `tether.v1`, and the client sends its `hello` frame as usual.
 */
export const EARLY_SUBPROTOCOL = 'tether.v1.early';

/** Prefix of the offered subprotocol that carries an early `hello` (see {@link EARLY_SUBPROTOCOL}). */
export const HELLO_SUBPROTOCOL_PREFIX = 'tether.hello.';

/** Encodes a `hello` frame as an offered subprotocol (its JSON, base64url, no padding). */
export function helloSubprotocol(hello: HelloFrame): string {
  return HELLO_SUBPROTOCOL_PREFIX + base64url(JSON.stringify(hello));
}

/** `text` as UTF-8, base64url without padding: the characters a subprotocol token allows. */
function base64url(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** The text of the first offered subprotocol that starts with `prefix`; undefined when absent or malformed. */
function textFromSubprotocols(offered: readonly string[], prefix: string): string | undefined {
  const entry = offered.find((p) => p.startsWith(prefix));
  if (!entry) return undefined;
  const b64 = entry.slice(prefix.length).replace(/-/g, '+').replace(/_/g, '/');
  if (!/^[A-Za-z0-9+/]*$/.test(b64)) return undefined;
  try {
    const binary = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
    const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}
