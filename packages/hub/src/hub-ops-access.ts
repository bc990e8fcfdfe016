import type { IncomingMessage, ServerResponse } from 'node:http';
import { apiKeyMatches, requestApiKey } from '@tether/server/ops';
import { isLoopbackHost } from './config.js';
import type { HubConfig } from './config-types.js';
import { ApiError, sendError } from './http-errors.js';

/** The paths the ops key guards: they list user ids, IPs, and the hub's insides. */
const GUARDED = ['/stats', '/metrics', '/dashboard'] as const;

/**
 * Whether `/stats`, `/metrics` and `/dashboard` need the ops key: on a host other
 * machines can reach, or once authentication or any key is configured (an operator who
 * protects the hub would not expect its user list to be public), unless `ops.public`.
 * An auth-off hub on loopback, the first `npm start`, stays open.
 */
export function opsClosed(config: HubConfig): boolean {
  if (config.ops.public) return false;
  return (
    !isLoopbackHost(config.host) ||
    config.auth.mode !== 'none' ||
    config.api.key !== undefined ||
    config.api.adminKey !== undefined ||
    config.api.opsKey !== undefined
  );
}

/** What {@link createOpsGate} works with. */
export interface OpsGateOptions {
  /** The ops key; required when set, even with `ops.public`. */
  key: string | undefined;
  /** Whether the ops paths need a key at all ({@link opsClosed}). */
  closed: boolean;
  answered?: (route: string, status: number) => void;
  failed?: (route: string, error: ApiError, request: IncomingMessage) => void;
}

/**
 * Answers 401 to a request for a guarded path that lacks the ops key, and returns true;
 * returns false for everything else (the next handler serves it). The challenge offers
 * Basic, so a browser opening `/dashboard` shows its login prompt (the key is the
 * password) and sends the same credentials to `/stats` when the page polls it.
 */
export function createOpsGate(
  options: OpsGateOptions,
): (request: IncomingMessage, response: ServerResponse) => boolean {
  const required = options.key !== undefined || options.closed;
  return (request, response) => {
    if (!required) return false;
    const path = (request.url ?? '/').split('?')[0] as string;
    const route = GUARDED.find((p) => path === p || path.startsWith(`${p}/`));
    if (route === undefined) return false;
    const given = requestApiKey(request);
    if (options.key !== undefined && apiKeyMatches(given, options.key)) return false;
    // Basic alone: Chromium did not answer "Basic ..., Bearer" in one header with credentials.
    const headers = { 'WWW-Authenticate': 'Basic realm="tether ops", charset="UTF-8"' };
    const message =
      options.key === undefined
        ? `${route} is closed: it needs the ops key, and none is configured (set TETHER_OPS_KEY or api.opsKey, or ops.public: true to serve it to anyone)`
        : given === undefined
          ? `${route} needs the ops key: send Authorization: Bearer KEY, X-Api-Key: KEY, or Basic with the key as the password`
          : 'wrong ops key';
    const error = new ApiError('UNAUTHORIZED', message, { headers });
    options.answered?.(route, 401);
    options.failed?.(route, error, request);
    sendError(response, error);
    return true;
  };
}
