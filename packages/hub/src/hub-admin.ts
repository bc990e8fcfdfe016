import type { IncomingMessage, ServerResponse } from 'node:http';
import { CloseCode, isSendableCloseCode, type Json } from '@tether/protocol';
import type { TetherServer } from '@tether/server';
import { bodyObject, readJsonBody } from './http-body.js';
import { ApiError } from './http-errors.js';
import { checkKey, createJsonApi, exactly, type JsonRoute } from './http-routes.js';

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
  const drain: JsonRoute = {
    name: '/admin/drain',
    method: 'POST',
    match: exactly('/admin/drain'),
    run: async (request) => {
      request.resume();
      const connections = options.tether.stats().connections;
      return { status: 202, body: { status: 'draining', connections }, afterSent: options.drain };
    },
  };
  const disconnect: JsonRoute = {
    name: '/admin/connections/:id/disconnect',
    method: 'POST',
    match: (path) => /^\/admin\/connections\/([^/]+)\/disconnect$/.exec(path)?.[1],
    param: 'id',
    run: async (request, _url, id) => {
      const { code, reason } = await readDisconnect(request, options.maxBodyBytes);
      for (const endpoint of options.tether.endpoints.values()) {
        const connection = endpoint.connections.get(id);
        if (connection === undefined) continue;
        connection.close(code, reason);
        return { status: 200, body: { disconnected: id, endpoint: endpoint.path, code, reason } };
      }
      throw new ApiError('NOT_FOUND', `no open connection with id "${id.slice(0, 64)}"`);
    },
  };
  return createJsonApi({
    prefix: '/admin',
    notFound: { label: 'admin route' },
    routes: [drain, disconnect],
    authorize: (request) =>
      checkKey(
        request,
        options.key,
        'admin key',
        'admin endpoints are off: no admin key is configured (set TETHER_ADMIN_KEY, --admin-key or api.adminKey)',
      ),
    ...(options.answered === undefined ? {} : { answered: options.answered }),
    ...(options.failed === undefined ? {} : { failed: options.failed }),
  });
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
