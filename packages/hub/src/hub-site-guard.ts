import type { IncomingMessage } from 'node:http';
import { isLoopbackHost } from './config.js';
import type { HubConfig } from './config-types.js';

/**
 * What an auth-off hub checks so that other sites cannot use it through the developer's
 * browser: any page can open a WebSocket to 127.0.0.1 (browsers send its `Origin` and let
 * it through), and a DNS-rebinding page reaches plain HTTP under its own name (its `Host`).
 * With auth on, tokens guard the hub and `origins` is the operator's choice.
 */
export interface SiteGuard {
  /** Whether a request's `Host` header must name this machine. */
  checkHost: boolean;
  /** Whether an upgrade's `Origin` must be the hub's own (or absent). */
  checkOrigin: boolean;
}

/**
 * The guard of `config`: auth off and no `origins` configured: upgrades need the hub's own
 * origin or none (non-browser clients send none); auth off on a loopback bind: every
 * request and upgrade needs a loopback `Host`. A non-loopback `--insecure` hub is reached
 * by names this process cannot know, so only its Origin is checked.
 */
export function siteGuard(config: HubConfig): SiteGuard {
  const off = config.auth.mode === 'none';
  return {
    checkHost: off && isLoopbackHost(config.host),
    checkOrigin: off && config.origins === undefined,
  };
}

/** Whether a `Host` header names this machine: localhost, 127.0.0.0/8 or [::1], any port. */
export function isLoopbackHostHeader(host: string | undefined): boolean {
  if (host === undefined) return false;
  const match = /^(\[[^\]]*\]|[^:]*)(?::\d{1,5})?$/.exec(host.trim().toLowerCase());
  if (match === null) return false;
  const name = match[1] as string;
  return name === '[::1]' || (name !== '::1' && isLoopbackHost(name));
}

/** Whether `origin` is the origin of the page the request's `Host` names (http or https). */
export function isOwnOrigin(origin: string, host: string | undefined): boolean {
  if (host === undefined) return false;
  const own = host.trim().toLowerCase();
  const given = origin.toLowerCase();
  return given === `http://${own}` || given === `https://${own}`;
}

/**
 * The endpoint's `origins` hook under `guard`, or undefined when the guard checks nothing
 * at upgrades (the configured `origins`, if any, apply). A bad `Host` is refused here too,
 * so a refused upgrade is counted as `origin` either way.
 */
export function guardedOrigins(
  guard: SiteGuard,
): ((origin: string | undefined, request: IncomingMessage) => boolean) | undefined {
  if (!guard.checkHost && !guard.checkOrigin) return undefined;
  return (origin, request) => {
    const host = request.headers.host;
    if (guard.checkHost && !isLoopbackHostHeader(host)) return false;
    if (guard.checkOrigin && origin !== undefined && !isOwnOrigin(origin, host)) return false;
    return true;
  };
}
