import { authSubprotocol, type HelloFrame, PROTOCOL_VERSION, SUBPROTOCOL } from '@tether/protocol';
import type { TokenSource } from './options.js';
import type { WebSocketInit } from './socket.js';

/**
 * Asks the token source for this attempt's token: a string (or nothing) at
 * once, or a promise. Throws what the provider throws.
 */
export function readToken(source: TokenSource | undefined): string | undefined | Promise<string> {
  return typeof source === 'function' ? source() : source;
}

/** Whether a provider's answer is usable. */
export function isToken(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}

/**
 * What the upgrade offers: `tether.v1` first (the server selects it), and
 * the token as a `tether.auth.<base64url>` subprotocol, or, with `header`,
 * as `Authorization: Bearer` (only implementations that accept handshake
 * headers, such as `ws`, send it).
 */
export function handshakeFor(
  token: string | undefined,
  authVia: 'subprotocol' | 'header',
): { protocols: string[]; init: WebSocketInit | undefined } {
  const protocols = [SUBPROTOCOL];
  if (token === undefined) return { protocols, init: undefined };
  if (authVia === 'header')
    return { protocols, init: { headers: { Authorization: `Bearer ${token}` } } };
  protocols.push(authSubprotocol(token));
  return { protocols, init: undefined };
}

/** The first frame on every socket; asks to resume `session` when there is one. */
export function helloFrame(
  session: { sid: string; token: string } | undefined,
  lastServerSeq: number,
  client: HelloFrame['client'] | undefined,
): HelloFrame {
  const hello: HelloFrame = { t: 'hello', v: PROTOCOL_VERSION };
  if (session) hello.resume = { sid: session.sid, token: session.token, seq: lastServerSeq };
  if (client) hello.client = client;
  return hello;
}
