import type { IncomingMessage, ServerResponse } from 'node:http';
import { TetherError } from '@tether/common';
import { isValidTopic, type Json } from '@tether/protocol';
import { DeliveryError, type Endpoint, type TetherServer } from '@tether/server';
import { bodyObject, readJsonBody } from './http-body.js';
import { ApiError } from './http-errors.js';
import { checkKey, createJsonApi, exactly, type JsonRoute } from './http-routes.js';
import type { HistoryReader } from './hub-history.js';

/** What the HTTP API works with. */
export interface HttpApiOptions {
  tether: TetherServer;
  /** The endpoint `/api/send` delivers through. */
  endpoint: Endpoint;
  /** `GET /api/topics/:topic/history` reads here; without it that route answers 404. */
  history: HistoryReader | undefined;
  /** The API key; without one every call is refused (401). */
  key: string | undefined;
  maxBodyBytes: number;
  /** Whether the hub is shutting down (publish and send answer 503). */
  draining: () => boolean;
  /** Told about every answered request (metrics). */
  answered?: (route: string, status: number) => void;
  /** Told about every error answer (logs, the dashboard's errors). */
  failed?: (route: string, error: ApiError, request: IncomingMessage) => void;
}

/** Handles a request if its path is under `/api/`; returns whether it did. */
export type HttpApiHandler = (request: IncomingMessage, response: ServerResponse) => boolean;

/** Default and largest `limit` of the history route. */
const HISTORY_LIMIT = { default: 100, max: 1000 } as const;

/**
 * The hub's HTTP API, authenticated with the API key (`Authorization: Bearer KEY` or
 * `X-Api-Key: KEY`):
 * - `POST /api/publish {topic, data}` → `{topic, epoch, offset, ...}`;
 * - `POST /api/send {user | session, data}` → delivery to a user's or a session's connections;
 * - `GET /api/topics/:topic/history?limit=N[&epoch=E&offset=N]` → retained publications.
 *
 * Errors are `{ "error": { "code", "message" } }` with stable codes (see {@link ApiErrorCode}).
 */
export function createHttpApi(options: HttpApiOptions): HttpApiHandler {
  const publish: JsonRoute = {
    name: '/api/publish',
    method: 'POST',
    match: exactly('/api/publish'),
    run: async (request) => {
      const body = bodyObject(await readJsonBody(request, options.maxBodyBytes), ['topic', 'data']);
      const topic = checkTopic(body.topic, 'topic');
      if (body.data === undefined) {
        throw new ApiError(
          'BAD_REQUEST',
          'data: required (use null for a publication without data)',
        );
      }
      notDraining(options);
      const result = await Promise.resolve(options.tether.publish(topic, body.data)).catch(
        (err: unknown) => {
          throw apiErrorOf(err, 'data');
        },
      );
      return { status: 200, body: { topic, ...result } };
    },
  };
  const send: JsonRoute = {
    name: '/api/send',
    method: 'POST',
    match: exactly('/api/send'),
    run: async (request) => {
      const body = bodyObject(await readJsonBody(request, options.maxBodyBytes), [
        'user',
        'session',
        'data',
      ]);
      if ((body.user === undefined) === (body.session === undefined)) {
        throw new ApiError('BAD_REQUEST', 'user or session: give exactly one of them');
      }
      const target =
        body.user !== undefined
          ? { kind: 'user' as const, id: checkId(body.user, 'user') }
          : { kind: 'session' as const, id: checkId(body.session, 'session') };
      if (body.data === undefined) {
        throw new ApiError('BAD_REQUEST', 'data: required (use null for a message without data)');
      }
      notDraining(options);
      return { status: 200, body: await deliver(options.endpoint, target, body.data) };
    },
  };
  const history: JsonRoute = {
    name: '/api/topics/:topic/history',
    method: 'GET',
    match: (path) =>
      path.startsWith('/api/topics/') && path.endsWith('/history')
        ? path.slice('/api/topics/'.length, -'/history'.length)
        : undefined,
    param: 'topic (in the path)',
    run: async (_request, url, param) => {
      const reader = options.history;
      if (reader === undefined) throw new ApiError('NOT_FOUND', 'this hub keeps no topic history');
      const topic = checkTopic(param, 'topic (in the path)');
      const limit = queryInt(url, 'limit', 1, HISTORY_LIMIT.max) ?? HISTORY_LIMIT.default;
      const epoch = url.searchParams.get('epoch');
      const offset = queryInt(url, 'offset', 0, Number.MAX_SAFE_INTEGER);
      if ((epoch === null) !== (offset === undefined)) {
        throw new ApiError('BAD_REQUEST', 'epoch and offset: give both (a position) or neither');
      }
      const from = epoch === null ? undefined : { epoch, offset: offset as number };
      try {
        return { status: 200, body: await reader.read(topic, limit, from) };
      } catch (err) {
        throw apiErrorOf(err, 'topic');
      }
    },
  };

  return createJsonApi({
    prefix: '/api',
    notFound: { label: 'API route', hint: '(see docs/operations.md)' },
    routes: [publish, send, history],
    authorize: (request) =>
      checkKey(
        request,
        options.key,
        'API key',
        'the HTTP API is off: no API key is configured (set TETHER_API_KEY, --api-key or api.key)',
      ),
    ...(options.answered === undefined ? {} : { answered: options.answered }),
    ...(options.failed === undefined ? {} : { failed: options.failed }),
  });
}

function notDraining(options: HttpApiOptions): void {
  if (options.draining()) {
    throw new ApiError('DRAINING', 'the hub is shutting down; retry against its replacement', {
      headers: { 'Retry-After': '5' },
    });
  }
}

function checkTopic(value: Json | undefined, field: string): string {
  if (typeof value !== 'string' || !isValidTopic(value)) {
    throw new ApiError(
      'BAD_REQUEST',
      `${field}: expected a topic name (1-256 letters, digits and _ - . : / @ # = +), got ${JSON.stringify(value ?? null)?.slice(0, 80)}`,
    );
  }
  return value;
}

function checkId(value: Json | undefined, field: string): string {
  if (typeof value !== 'string' || value === '' || value.length > 256) {
    throw new ApiError(
      'BAD_REQUEST',
      `${field}: expected a non-empty string (at most 256 characters)`,
    );
  }
  return value;
}

function queryInt(url: URL, name: string, min: number, max: number): number | undefined {
  const text = url.searchParams.get(name);
  if (text === null) return undefined;
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > max) {
    throw new ApiError(
      'BAD_REQUEST',
      `${name}: expected an integer in [${min}, ${max}], got "${text.slice(0, 40)}"`,
    );
  }
  return n;
}

/** Maps an error of the server or the store to the API's codes. */
function apiErrorOf(err: unknown, dataField: string): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof TetherError) {
    if (err.code === 'INVALID_TOPIC') return new ApiError('BAD_REQUEST', `topic: ${err.message}`);
    if (err.code === 'INVALID_PAYLOAD')
      return new ApiError('BAD_REQUEST', `${dataField}: ${err.message}`);
    if (err.code === 'SERVER_STATE' || err.code === 'SERVER_CLOSED')
      return new ApiError('DRAINING', err.message, { headers: { 'Retry-After': '5' } });
    if (err.code.startsWith('STORE_') || err.name === 'StoreError') {
      return new ApiError('STORE_UNAVAILABLE', `the store failed: ${err.message}`, { cause: err });
    }
  }
  return new ApiError('INTERNAL', 'the hub failed to handle the request', { cause: err });
}

/**
 * A reliable direct message: stored in the session's log (with its sequence number)
 * before it is sent, replayed if the client reconnects within its resume window.
 */
async function deliver(
  endpoint: Endpoint,
  target: { kind: 'user' | 'session'; id: string },
  data: Json,
): Promise<Record<string, Json>> {
  try {
    if (target.kind === 'session') {
      const result = await endpoint.sendTo(target.id, data);
      return { session: result.sessionId, seq: result.seq };
    }
    const results = await endpoint.sendToUser(target.id, data);
    if (results.length === 0) {
      throw new ApiError(
        'NOT_FOUND',
        `user "${target.id.slice(0, 64)}" has no session on this hub (not connected, nor within a resume window)`,
      );
    }
    return {
      user: target.id,
      sessions: results.map((r) => ({ session: r.sessionId, seq: r.seq })),
    };
  } catch (err) {
    if (err instanceof DeliveryError && err.code === 'SESSION_NOT_FOUND') {
      throw new ApiError(
        'NOT_FOUND',
        `session "${target.id.slice(0, 64)}" does not exist (never did, or its resume window passed)`,
      );
    }
    throw apiErrorOf(err, 'data');
  }
}
