import { BlockList, isIP } from 'node:net';
import { OptionError } from '@tether/common';

/**
 * The proxies whose `X-Forwarded-For` the server believes (`trustProxy`), and the
 * walk that finds the client address behind them.
 *
 * A proxy appends the address it received the request from to `X-Forwarded-For`, so
 * only the entries added by proxies we run are true; everything to their left was
 * written by the client and may be forged. The client is therefore the rightmost
 * entry that is not one of our proxies, found by walking right to left from the
 * socket peer, and only while each hop is trusted. An entry that does not parse as an
 * IP stops the walk at the last trusted hop: a header value is never recorded as an
 * address.
 */
export interface TrustedProxies {
  /** The configured list, as given (for logs and stats). */
  readonly list: readonly string[];
  /** Whether `ip` (normalized, see {@link normalizeIp}) is one of the trusted proxies. */
  trusts(ip: string): boolean;
}

/** Trusts nobody: the client address is the socket's. */
export const NO_TRUSTED_PROXIES: TrustedProxies = { list: [], trusts: () => false };

/**
 * Checks and compiles `trustProxy`: a list of IPv4/IPv6 addresses and CIDR ranges
 * (`"127.0.0.1"`, `"10.0.0.0/8"`, `"::1"`, `"fd00::/8"`). `false` and `undefined`
 * trust nobody. `true` is refused: it used to mean "believe any X-Forwarded-For", which
 * lets every client pick its own address and so defeats the per-IP cap.
 */
export function resolveTrustedProxies(value: unknown, name = 'trustProxy'): TrustedProxies {
  if (value === undefined || value === false) return NO_TRUSTED_PROXIES;
  if (value === true) {
    throw new OptionError(
      name,
      'true is no longer accepted (it let clients forge their address): list the proxies you run, e.g. ["127.0.0.1", "10.0.0.0/8", "::1"]',
    );
  }
  if (!Array.isArray(value)) {
    throw new OptionError(
      name,
      `expected a list of proxy addresses or CIDR ranges (e.g. ["10.0.0.0/8", "::1"]), got ${String(value)}`,
    );
  }
  const blocks = new BlockList();
  for (const entry of value) {
    const problem = addEntry(blocks, entry);
    if (problem !== undefined) throw new OptionError(name, problem);
  }
  const list = Object.freeze([...(value as string[])]);
  return {
    list,
    trusts: (ip) => {
      const family = isIP(ip);
      if (family === 0) return false;
      return blocks.check(ip, family === 4 ? 'ipv4' : 'ipv6');
    },
  };
}

/** Adds one `address` or `address/prefix` to `blocks`; returns the problem, if any. */
function addEntry(blocks: BlockList, entry: unknown): string | undefined {
  if (typeof entry !== 'string') {
    return `expected strings (addresses or CIDR ranges), got ${JSON.stringify(entry)}`;
  }
  const slash = entry.indexOf('/');
  const address = normalizeIp(slash === -1 ? entry : entry.slice(0, slash));
  const family = isIP(address);
  if (family === 0) return `"${entry}" is not an IP address or CIDR range`;
  const type = family === 4 ? 'ipv4' : 'ipv6';
  if (slash === -1) {
    blocks.addAddress(address, type);
    return undefined;
  }
  const bits = entry.slice(slash + 1);
  const max = family === 4 ? 32 : 128;
  if (!/^\d{1,3}$/.test(bits) || Number(bits) > max) {
    return `"${entry}": the prefix length must be 0-${max}`;
  }
  blocks.addSubnet(address, Number(bits), type);
  return undefined;
}

/** IPv4-mapped IPv6 addresses (`::ffff:1.2.3.4`) are shown and compared as IPv4. */
export function normalizeIp(ip: string): string {
  return ip.toLowerCase().startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}

/**
 * One `X-Forwarded-For` entry as an IP, or undefined when it is not one. Accepts what
 * proxies write: a bare address, `[v6]`, `[v6]:port`, `v4:port`. Anything else
 * (`unknown`, obfuscated identifiers, host names, garbage) is not an address.
 */
export function forwardedIp(entry: string): string | undefined {
  let value = entry.trim();
  if (value.startsWith('[')) {
    const close = value.indexOf(']');
    if (close === -1) return undefined;
    const rest = value.slice(close + 1);
    if (rest !== '' && !/^:\d{1,5}$/.test(rest)) return undefined;
    value = value.slice(1, close);
    return isIP(value) === 6 ? normalizeIp(value) : undefined;
  }
  const v4WithPort = /^(\d{1,3}(?:\.\d{1,3}){3}):\d{1,5}$/.exec(value);
  if (v4WithPort?.[1] !== undefined) value = v4WithPort[1];
  return isIP(value) === 0 ? undefined : normalizeIp(value);
}

/**
 * The client's address: the socket peer, or, when the peer is a trusted proxy, the
 * rightmost `X-Forwarded-For` entry that is not a trusted proxy. A hop that is not an
 * IP ends the walk at the nearest trusted hop's address.
 */
export function resolveClientIp(
  peer: string,
  forwardedFor: string | string[] | undefined,
  proxies: TrustedProxies,
): string {
  let ip = normalizeIp(peer);
  if (forwardedFor === undefined || !proxies.trusts(ip)) return ip;
  // Several X-Forwarded-For headers count as one list, in order (RFC 9110 5.3).
  const joined = Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor;
  const hops = joined.split(',');
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = forwardedIp(hops[i] as string);
    if (hop === undefined) return ip;
    ip = hop;
    if (!proxies.trusts(hop)) return hop;
  }
  return ip;
}
