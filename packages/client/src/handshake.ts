import {
  authSubprotocol,
  EARLY_SUBPROTOCOL,
  type HelloFrame,
  helloSubprotocol,
  PROTOCOL_VERSION,
  SUBPROTOCOL,
} from '@tether/protocol';
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
 * What the upgrade offers: `tether.v1` first (the server selects it), with `hello` the
 * early hello (`tether.v1.early`, which a server that takes it selects instead, and
 * `tether.hello.<base64url>`), and the token as a `tether.auth.<base64url>` subprotocol,
 * or, with `header`, as `Authorization: Bearer` (only implementations that accept
 * handshake headers, such as `ws`, send it).
 */
export function handshakeFor(
  token: string | undefined,
  authVia: 'subprotocol' | 'header',
  hello?: HelloFrame,
): { protocols: string[]; init: WebSocketInit | undefined } {
  const protocols = [SUBPROTOCOL];
  if (hello !== undefined) protocols.push(EARLY_SUBPROTOCOL, helloSubprotocol(hello));
  if (token === undefined) return { protocols, init: undefined };
  if (authVia === 'header')
    return { protocols, init: { headers: { Authorization: `Bearer ${token}` } } };
  protocols.push(authSubprotocol(token));
  return { protocols, init: undefined };
}

/**
 * The first frame on every socket; asks to resume `session` when there is one, and
 * states the largest message the client accepts when it has a limit.
 */
export function helloFrame(
  session: { sid: string; token: string } | undefined,
  lastServerSeq: number,
  client: HelloFrame['client'] | undefined,
  maxMessageBytes?: number,
): HelloFrame {
  // This client pings on silence itself (heartbeat.ts): WebSocket pings suffice from the server.
  // It takes a burst of one topic as one `pubs` frame (frame-handler.ts expands it).
  const hello: HelloFrame = { t: 'hello', v: PROTOCOL_VERSION, appPings: false, pubs: true };
  if (session) hello.resume = { sid: session.sid, token: session.token, seq: lastServerSeq };
  if (client) hello.client = client;
  if (maxMessageBytes !== undefined) hello.maxMessageBytes = maxMessageBytes;
  return hello;
}

/**
 * Answers the server's `refresh`: asks the provider for a fresh token and passes it to
 * `send` while `current()` (the same connection is still open). A fixed token has
 * nothing fresher to offer: the server closes with 4002 at expiry and the reconnect
 * decides. `failed` gets a provider failure; the connection stays until the expiry.
 */
export function freshToken(
  source: TokenSource | undefined,
  current: () => boolean,
  send: (token: string) => void,
  failed: (err: unknown) => void,
): void {
  if (typeof source !== 'function') return;
  withToken(
    source,
    (token) => {
      if (!current()) return;
      if (isToken(token)) send(token);
      else failed(new TypeError('the token provider returned no token'));
    },
    failed,
  );
}

/**
 * Asks `source` for a token and calls `ok` with it: at once when the answer is at hand,
 * else once the provider's promise settles. `failed` gets what the provider threw or
 * rejected with.
 */
export function withToken(
  source: TokenSource | undefined,
  ok: (token: string | undefined) => void,
  failed: (err: unknown) => void,
): void {
  let token: string | undefined | Promise<string>;
  try {
    token = readToken(source);
  } catch (err) {
    failed(err);
    return;
  }
  if (token === undefined || typeof token === 'string') ok(token);
  else Promise.resolve(token).then(ok, failed);
}
