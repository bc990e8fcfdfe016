/** Options shared by every Tether error. */
export interface TetherErrorOptions {
  /** Whether trying the same thing again may succeed. */
  retryable?: boolean;
  /** The underlying error. */
  cause?: unknown;
}

/**
 * Base class of Tether's errors: a stable machine-readable `code`, whether a
 * retry helps, and the `cause`.
 */
export class TetherError extends Error {
  override name = 'TetherError';
  readonly code: string;
  readonly retryable: boolean;

  constructor(code: string, message: string, options: TetherErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retryable = options.retryable ?? false;
  }
}

/** Thrown at construction when an option is invalid; the message names the option. */
export class OptionError extends TetherError {
  override name = 'OptionError';
  readonly option: string;

  constructor(option: string, message: string) {
    super('INVALID_OPTION', `${option}: ${message}`);
    this.option = option;
  }
}
