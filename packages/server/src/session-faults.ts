import { DeliveryError } from './errors.js';
import { errorMessage } from './frame-errors.js';
import type { Logger } from './logger.js';
import { StoreErrorCode } from './store/index.js';

/**
 * Logs a failed session write: at debug when the session is simply gone (evicted,
 * expired) or the store closed, which is no fault of the server; at error otherwise.
 */
export function sessionFault(logger: Logger, sid: string, message: string, err: unknown): void {
  const code = (err as { code?: unknown } | undefined)?.code;
  if (code === StoreErrorCode.SESSION_NOT_FOUND || code === StoreErrorCode.CLOSED) {
    logger.debug({ sid, err: errorMessage(err) }, message);
    return;
  }
  logger.error({ sid, err: errorMessage(err) }, message);
}

/** A store's answer that the session no longer exists. */
export function isGone(err: unknown): boolean {
  return (err as { code?: unknown } | undefined)?.code === StoreErrorCode.SESSION_NOT_FOUND;
}

export function invalidPayload(message: string): DeliveryError {
  return new DeliveryError('INVALID_PAYLOAD', message);
}
