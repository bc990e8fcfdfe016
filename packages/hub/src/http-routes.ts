import type { IncomingMessage, ServerResponse } from 'node:http';
import { apiKeyMatches, requestApiKey, UNMATCHED_ROUTE } from '@tether/server/ops';
import { ApiError, sendError, sendJson } from './http-errors.js';

/** What a route answers: a status and a JSON body; `afterSent` runs once the answer went out. */
export interface RouteAnswer {
  status: number;
  body: unknown;
  afterSent?: () => void;
}

/** One route of a keyed JSON API (the HTTP API, the admin endpoints). */
export interface JsonRoute {
  /** Route pattern, for metrics and logs. */
  name: string;
  method: 'GET' | 'POST';
  /** The path parameter, still URL-encoded, when `path` is this route's ('' without one). */
  match(path: string): string | undefined;
  /** What the parameter is called in the 400 for an invalid URL encoding. */
  param?: string;
  run(request: IncomingMessage, url: URL, param: string): Promise<RouteAnswer>;
}

/** A keyed JSON API under one path prefix. */
export interface JsonApiOptions {
  /** Paths under it are this API's (`/api`, `/admin`). */
  prefix: string;
  /** What a 404 calls a route ("API route", "admin route") and what it adds. */
  notFound: { label: string; hint?: string };
  routes: readonly JsonRoute[];
  /** Checked once the route and method are right: undefined, or the error to answer. */
  authorize(request: IncomingMessage): ApiError | undefined;
  /** Told about every answered request (metrics). */
  answered?: (route: string, status: number) => void;
  /** Told about every error answer (logs, the dashboard's errors). */
  failed?: (route: string, error: ApiError, request: IncomingMessage) => void;
}

/**
 * The dispatch every keyed JSON API of the hub shares: route by path, 404 for an unknown
 * route, 405 with `Allow` for a wrong method, the key, the path parameter decoded, then
 * the route's answer as JSON; any failure is an error answer with a stable code. Metrics
 * and logs get the route pattern, never the path: a path is the client's choice, and
 * they keep what they are given (issue 9: random paths grew the hub without bound).
 */
export function createJsonApi(
  options: JsonApiOptions,
): (request: IncomingMessage, response: ServerResponse) => boolean {
  return (request, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const path = url.pathname;
    if (path !== options.prefix && !path.startsWith(`${options.prefix}/`)) return false;
    let route: JsonRoute | undefined;
    let raw = '';
    for (const candidate of options.routes) {
      const param = candidate.match(path);
      if (param === undefined) continue;
      route = candidate;
      raw = param;
      break;
    }
    const name = route?.name ?? UNMATCHED_ROUTE;
    const fail = (error: ApiError): void => {
      options.answered?.(name, error.status);
      options.failed?.(name, error, request);
      sendError(response, error);
    };
    if (route === undefined) {
      const { label, hint } = options.notFound;
      const method = String(request.method).slice(0, 16);
      const message = `no ${label} ${method} ${path.slice(0, 200)}${hint === undefined ? '' : ` ${hint}`}`;
      fail(new ApiError('NOT_FOUND', message));
      return true;
    }
    if (request.method !== route.method) {
      const allow = { headers: { Allow: route.method } };
      fail(new ApiError('METHOD_NOT_ALLOWED', `${route.name} answers ${route.method}`, allow));
      return true;
    }
    const denied = options.authorize(request);
    if (denied !== undefined) {
      fail(denied);
      return true;
    }
    let param: string;
    try {
      param = decodeURIComponent(raw);
    } catch {
      fail(new ApiError('BAD_REQUEST', `${route.param ?? 'path'}: invalid URL encoding`));
      return true;
    }
    const current = route;
    current.run(request, url, param).then(
      ({ status, body, afterSent }) => {
        options.answered?.(current.name, status);
        if (afterSent !== undefined) response.once('finish', afterSent);
        sendJson(response, status, body);
      },
      (err: unknown) =>
        fail(
          err instanceof ApiError
            ? err
            : new ApiError('INTERNAL', 'the hub failed to handle the request', { cause: err }),
        ),
    );
    return true;
  };
}

/**
 * Undefined when the request carries `key` (`Authorization: Bearer KEY` or `X-Api-Key`);
 * else the 401 to answer: `off` when no key is configured, else missing or wrong `what`.
 */
export function checkKey(
  request: IncomingMessage,
  key: string | undefined,
  what: string,
  off: string,
): ApiError | undefined {
  const headers = { 'WWW-Authenticate': 'Bearer' };
  if (key === undefined) return new ApiError('UNAUTHORIZED', off, { headers });
  const given = requestApiKey(request);
  if (given === undefined) {
    return new ApiError(
      'UNAUTHORIZED',
      `missing ${what}: send Authorization: Bearer KEY or X-Api-Key: KEY`,
      { headers },
    );
  }
  return apiKeyMatches(given, key)
    ? undefined
    : new ApiError('UNAUTHORIZED', `wrong ${what}`, { headers });
}

/** A route without a parameter: matches exactly `path`. */
export function exactly(path: string): (candidate: string) => string | undefined {
  return (candidate) => (candidate === path ? '' : undefined);
}
