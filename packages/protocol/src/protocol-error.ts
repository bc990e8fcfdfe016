import { TetherError } from '@tether/common';
import type { ErrorCodeName } from './error-codes.js';
import type { ErrorFrame, ErrorRef } from './frames.js';

/**
 * The only error the codec throws or returns: a stable `code` from the
 * error-code table, a message naming the problem, and what it refers to.
 */
export class ProtocolError extends TetherError {
  override name = 'ProtocolError';
  declare readonly code: ErrorCodeName;
  readonly ref: ErrorRef | undefined;

  constructor(code: ErrorCodeName, message: string, ref?: ErrorRef) {
    super(code, message, { retryable: false });
    this.ref = ref;
  }

  /** The error frame that reports this error to the peer. */
  toFrame(): ErrorFrame {
    return this.ref
      ? { t: 'error', code: this.code, message: this.message, ref: this.ref }
      : { t: 'error', code: this.code, message: this.message };
  }
}
