import { TetherError } from '@tether/common';
import { CloseCode, type JsonObject } from '@tether/protocol';

/** Why an `authenticate` hook refuses a connection. */
export type AuthRefusal = 'unauthorized' | 'forbidden';

/**
 * Thrown by an `authenticate` hook to refuse a connection with a reason. The
 * upgrade is accepted, then the client gets `goodbye` and the close code
 * (4001 unauthorized: get new credentials; 4003 forbidden: valid credentials,
 * no permission). Browsers cannot read the HTTP status of a failed upgrade,
 * so this is how they learn why.
 */
export class AuthError extends TetherError {
  override name = 'AuthError';
  /** The close code the client receives. */
  readonly closeCode: 4001 | 4003;

  constructor(refusal: AuthRefusal, message?: string, options: { cause?: unknown } = {}) {
    const closeCode = refusal === 'forbidden' ? CloseCode.FORBIDDEN : CloseCode.UNAUTHORIZED;
    super(
      refusal === 'forbidden' ? 'FORBIDDEN' : 'UNAUTHORIZED',
      message ?? (refusal === 'forbidden' ? 'forbidden' : 'unauthorized'),
      { retryable: false, cause: options.cause },
    );
    this.closeCode = closeCode;
  }
}

/**
 * A deliberate, final answer of the application. Thrown by a request handler, it answers
 * with this code instead of HANDLER_ERROR: `throw new ReplyError('NOT_FOUND', 'no such
 * order')` replies `{t:'res', ok:false, error:{code:'NOT_FOUND', message:'no such order'}}`.
 * Thrown by a message handler for a reliable message, it refuses that message for good:
 * the client gets an `error` frame with this code, `final: true` and `details`, its
 * `send()` rejects with them, the message counts as processed (acked, never run again)
 * and the session goes on. Anything else a message handler throws is HANDLER_ERROR and the
 * message is not processed: the client sends it again.
 */
export class ReplyError extends TetherError {
  override name = 'ReplyError';
  /** Application fields sent with the failure (for example an upstream HTTP `status`). */
  readonly details: JsonObject | undefined;

  constructor(
    code: string,
    message: string,
    options: { cause?: unknown; retryable?: boolean; details?: JsonObject } = {},
  ) {
    if (!/^[A-Z][A-Z0-9_]{0,63}$/.test(code)) {
      throw new TypeError(`ReplyError: code must be UPPER_SNAKE_CASE (1-64 chars), got "${code}"`);
    }
    const { details, ...rest } = options;
    if (
      details !== undefined &&
      (typeof details !== 'object' || details === null || Array.isArray(details))
    ) {
      throw new TypeError('ReplyError: details must be a JSON object');
    }
    super(code, message, rest);
    this.details = details;
  }
}

/** Thrown when the server is used in a way its state does not allow (e.g. an endpoint added after close). */
export class ServerStateError extends TetherError {
  override name = 'ServerStateError';

  constructor(message: string) {
    super('SERVER_STATE', message, { retryable: false });
  }
}

/** Stable codes of {@link DeliveryError}. */
export type DeliveryErrorCode = 'SESSION_NOT_FOUND' | 'INVALID_PAYLOAD' | 'SERVER_CLOSED';

/**
 * Why `sendTo` / `sendToUser` / `publish` refused a message: the session does not exist
 * (never did, or its resume window passed), the payload is not JSON, or the server is
 * closed. Failures of the store itself reject with the store's `StoreError`.
 */
export class DeliveryError extends TetherError {
  override name = 'DeliveryError';
  declare readonly code: DeliveryErrorCode;

  constructor(code: DeliveryErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(code, message, { retryable: false, cause: options.cause });
  }
}
