import type { ServerResponse } from 'node:http';
import { TetherError } from '@tether/common';
import { sendJson } from '@tether/server/ops';

export { sendJson };

/** Stable error codes of the hub's HTTP API, with their status. */
export const ApiErrorCode = {
  /** The body is not JSON. */
  BAD_JSON: 400,
  /** A field is missing or invalid; the message names it. */
  BAD_REQUEST: 400,
  /** No key, a wrong key, or no key configured (the message says which). */
  UNAUTHORIZED: 401,
  /** An auth-off hub on loopback refuses a `Host` that is not a loopback name (DNS rebinding). */
  FORBIDDEN: 403,
  /** No such route, connection, session or user. */
  NOT_FOUND: 404,
  /** The route exists with another method (see `Allow`). */
  METHOD_NOT_ALLOWED: 405,
  /** The body is larger than `limits.maxBodyBytes`. */
  PAYLOAD_TOO_LARGE: 413,
  /** The body is not `application/json`. */
  UNSUPPORTED_MEDIA_TYPE: 415,
  /** Something failed inside the hub; logged. */
  INTERNAL: 500,
  /** The hub is shutting down (see `Retry-After`). */
  DRAINING: 503,
  /** The store failed or timed out; retrying may help. */
  STORE_UNAVAILABLE: 503,
} as const;

export type ApiErrorCodeName = keyof typeof ApiErrorCode;

/** An HTTP API error: answered as `{ "error": { "code", "message" } }` with the code's status. */
export class ApiError extends TetherError {
  override name = 'ApiError';
  declare readonly code: ApiErrorCodeName;
  readonly status: number;
  readonly headers: Record<string, string>;

  constructor(
    code: ApiErrorCodeName,
    message: string,
    options: { headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    const status = ApiErrorCode[code];
    super(code, message, { retryable: status >= 500, cause: options.cause });
    this.status = status;
    this.headers = options.headers ?? {};
  }
}

/** Answers an {@link ApiError}. */
export function sendError(response: ServerResponse, error: ApiError): void {
  sendJson(
    response,
    error.status,
    { error: { code: error.code, message: error.message } },
    error.headers,
  );
}
