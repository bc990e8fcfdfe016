import type { IncomingMessage, ServerResponse } from 'node:http';
import { CloseCode, isSendableCloseCode, type Json } from '@tether/protocol';
import type { TetherServer } from '@tether/server';
import { apiKeyMatches, requestApiKey, UNMATCHED_ROUTE } from '@tether/server/ops';
import { bodyObject, readJsonBody } from './http-body.js';
import { ApiError, sendError, sendJson } from './http-errors.js';

/** What the admin endpoints work with. */
export interface AdminOptions {
  tether: TetherServer;
  /** The admin key; without one every call is refused (401). */
  key: string | undefined;
  maxBodyBytes: number;
  /** Starts the graceful shutdown of the hub (as SIGTERM does). */
  drain: () => void;
  answered?: (route: string, status: number) => void;
  failed?: (route: string, error: ApiError, request: IncomingMessage) => void;
}

/** The close code of an operator's disconnect unless the body names one: 1008, reconnect after backoff. */
const DEFAULT_DISCONNECT = {
  code: CloseCode.POLICY_VIOLATION,
  reason: 'disconnected by an operator',
};

/**
 * The admin endpoints, behind the admin key (`Authorization: Bearer KEY` or `X-Api-Key`):
 * - `POST /admin/drain`: 202, then a graceful shutdown (goodbye + 1012 to every client,
 *   `/readyz` answers 503 at once, the process exits when the drain ends);
 * - `POST /admin/connections/:id/disconnect` with an optional body `{code?, reason?}`:
 *   closes that connection (default 1008 "disconnected by an operator").
 */
export function createAdmin(
  options: AdminOptions,
): (request: IncomingMessage, response: ServerResponse) => boolean {
  return (request, response) => {
    const path = (request.url ?? '/').split('?')[0] as string;
    if (path !== '/admin' && !path.startsWith('/admin/')) return false;
    const disconnect = /^\/admin\/connections\/([^/]+)\/disconnect$/.exec(path);
    // The route pattern, never the path (metrics and logs keep what they are given).
    const route =
      path === '/admin/drain'
        ? '/admin/drain'
        : disconnect
          ? '/admin/connections/:id/disconnect'
          : UNMATCHED_ROUTE;
    const fail = (error: ApiError): void => {
      options.answered?.(route, error.status);
      options.failed?.(route, error, request);
      sendError(response, error);
    };
    if (route === UNMATCHED_ROUTE) {
      fail(
        new ApiError(
          'NOT_FOUND',
          `no admin route ${String(request.method).slice(0, 16)} ${path.slice(0, 200)}`,
        ),
      );
      return true;
    }
    if (request.method !== 'POST') {
      fail(
        new ApiError('METHOD_NOT_ALLOWED', `${route} answers POST`, { headers: { Allow: 'POST' } }),
      );
      return true;
    }
    const headers = { 'WWW-Authenticate': 'Bearer' };
    if (options.key === undefined) {
      fail(
        new ApiError(
          'UNAUTHORIZED',
          'admin endpoints are off: no admin key is configured (set TETHER_ADMIN_KEY, --admin-key or api.adminKey)',
          { headers },
        ),
      );
      return true;
    }
    const given = requestApiKey(request);
    if (!apiKeyMatches(given, options.key)) {
      fail(
        new ApiError(
          'UNAUTHORIZED',
          given === undefined
            ? 'missing admin key: send Authorization: Bearer KEY or X-Api-Key: KEY'
            : 'wrong admin key',
          { headers },
        ),
      );
      return true;
    }
    if (route === '/admin/drain') {
      request.resume();
      const connections = options.tether.stats().connections;
      options.answered?.(route, 202);
      response.once('finish', () => options.drain());
      sendJson(response, 202, { status: 'draining', connections });
      return true;
    }
    let id: string;
    try {
      id = decodeURIComponent(disconnect?.[1] ?? '');
    } catch {
      fail(new ApiError('BAD_REQUEST', 'id: invalid URL encoding'));
      return true;
    }
    readDisconnect(request, options.maxBodyBytes).then(
      ({ code, reason }) => {
        for (const endpoint of options.tether.endpoints.values()) {
          const connection = endpoint.connections.get(id);
          if (connection === undefined) continue;
          connection.close(code, reason);
          options.answered?.(route, 200);
          sendJson(response, 200, { disconnected: id, endpoint: endpoint.path, code, reason });
          return;
        }
        fail(new ApiError('NOT_FOUND', `no open connection with id "${id.slice(0, 64)}"`));
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

async function readDisconnect(
  request: IncomingMessage,
  maxBodyBytes: number,
): Promise<{ code: number; reason: string }> {
  const hasBody =
    (request.headers['content-length'] !== undefined &&
      request.headers['content-length'] !== '0') ||
    request.headers['transfer-encoding'] !== undefined;
  if (!hasBody) {
    request.resume();
    return DEFAULT_DISCONNECT;
  }
  const body = bodyObject(await readJsonBody(request, maxBodyBytes), ['code', 'reason']);
  const code: Json = body.code ?? DEFAULT_DISCONNECT.code;
  const reason: Json = body.reason ?? DEFAULT_DISCONNECT.reason;
  if (typeof code !== 'number' || !isSendableCloseCode(code)) {
    throw new ApiError(
      'BAD_REQUEST',
      `code: expected a close code a server may send (1000-1014, 3000-4999), got ${JSON.stringify(code)}`,
    );
  }
  if (typeof reason !== 'string' || Buffer.byteLength(reason) > 123) {
    throw new ApiError('BAD_REQUEST', 'reason: expected a string of at most 123 bytes');
  }
  return { code, reason };
}
