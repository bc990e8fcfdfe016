import type { IncomingMessage } from 'node:http';
import { tokenFromSubprotocols } from '@tether/protocol';
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
