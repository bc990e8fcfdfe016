import { isUtf8 } from 'node:buffer';
import type { IncomingMessage } from 'node:http';
import {
  EARLY_SUBPROTOCOL,
  HELLO_SUBPROTOCOL_PREFIX,
  tokenFromSubprotocols,
} from '@tether/protocol';
import { resolveClientIp, type TrustedProxies } from './trusted-proxies.js';

/**
 * What the server reads from an upgrade request before accepting it: offered
 * subprotocols, client IP, the auth token, and the per-IP connection count.
 */

/** The subprotocols the client offered (`Sec-WebSocket-Protocol`), in order. */
export function offeredSubprotocols(request: IncomingMessage): string[] {
  const header = request.headers['sec-websocket-protocol'];
  if (header === undefined) return [];
  const joined = Array.isArray(header) ? header.join(',') : header;
  return joined
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p.length > 0);
}

const BASE64URL = /^[A-Za-z0-9_-]*$/;

/**
 * The early hellos of one endpoint: the hello a client offered in its upgrade
 * (`tether.v1.early` and `tether.hello.<base64url>`, see docs/protocol.md), as the UTF-8
 * bytes of its JSON text; undefined when it offered not both, when the value is not
 * base64url of valid UTF-8, or when it is longer than `maxBytes` (the client then sends
 * its hello as a frame). It remembers the last entry and its answer: the clients of one
 * application send the same hello on every new connect (a resume's differs), so a
 * connect storm decodes and checks it once instead of once per connect. The bytes are
 * shared by the connections that sent them and are only ever read.
 */
export class EarlyHellos {
  private lastEntry: string | undefined = undefined;
  private lastBytes: Buffer | undefined = undefined;

  constructor(private readonly maxBytes: number) {}

  of(offered: readonly string[]): Buffer | undefined {
    const entry = offered.find((p) => p.startsWith(HELLO_SUBPROTOCOL_PREFIX));
    if (entry === undefined || !offered.includes(EARLY_SUBPROTOCOL)) return undefined;
    if (entry !== this.lastEntry) {
      this.lastBytes = this.decode(entry.slice(HELLO_SUBPROTOCOL_PREFIX.length));
      this.lastEntry = entry;
    }
    return this.lastBytes;
  }

  private decode(b64: string): Buffer | undefined {
    // Base64url without padding never has a length of 1 modulo 4.
    if (
      b64.length % 4 === 1 ||
      b64.length > Math.ceil((this.maxBytes * 4) / 3) ||
      !BASE64URL.test(b64)
    ) {
      return undefined;
    }
    const bytes = Buffer.from(b64, 'base64url');
    return bytes.length <= this.maxBytes && isUtf8(bytes) ? bytes : undefined;
  }
}

/**
 * The client's IP: the socket's remote address, or, when that is a proxy listed in
 * `trustProxy`, the rightmost `X-Forwarded-For` entry that is not a trusted proxy
 * (entries to its left are written by the client and may be forged). IPv4-mapped IPv6
 * addresses (`::ffff:1.2.3.4`) are shown as IPv4.
 */
export function clientIp(request: IncomingMessage, proxies: TrustedProxies): string {
  return resolveClientIp(
    request.socket.remoteAddress ?? 'unknown',
    request.headers['x-forwarded-for'],
    proxies,
  );
}

/** The path part of the request URL (no query string: it may carry a token). */
export function requestPath(request: IncomingMessage): string {
  const url = request.url ?? '/';
  const end = url.search(/[?#]/);
  return end === -1 ? url : url.slice(0, end);
}

/**
 * The auth token, from the first place that has one: `Authorization: Bearer <token>`
 * (Node clients), the `token` query parameter, or an offered `tether.auth.<base64url>`
 * subprotocol (browsers, which cannot set headers on a WebSocket).
 */
export function requestToken(
  request: IncomingMessage,
  offered: readonly string[],
): string | undefined {
  const auth = request.headers.authorization;
  if (auth !== undefined) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    if (match?.[1]) return match[1];
  }
  const url = request.url ?? '';
  const q = url.indexOf('?');
  if (q !== -1) {
    const token = new URLSearchParams(url.slice(q + 1)).get('token');
    if (token) return token;
  }
  return tokenFromSubprotocols(offered);
}

/** Open connections (and upgrades in progress) per client IP. */
export class IpCounter {
  private readonly counts = new Map<string, number>();

  /** Takes a slot for `ip` unless it already holds `max`; returns whether it did. */
  acquire(ip: string, max: number): boolean {
    const count = this.counts.get(ip) ?? 0;
    if (count >= max) return false;
    this.counts.set(ip, count + 1);
    return true;
  }

  release(ip: string): void {
    const count = this.counts.get(ip) ?? 0;
    if (count <= 1) this.counts.delete(ip);
    else this.counts.set(ip, count - 1);
  }

  count(ip: string): number {
    return this.counts.get(ip) ?? 0;
  }

  /** Distinct IPs holding a slot. */
  get size(): number {
    return this.counts.size;
  }
}
