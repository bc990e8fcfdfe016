import { checkInt, checkKnownKeys, OptionError } from '@tether/common';
import { SERVER_DEFAULTS } from './defaults.js';

/** Options of {@link TetherServer.close}. */
export interface CloseOptions {
  /** How long clients get to close before the rest are terminated. Default: the server's `drainTimeoutMs` (10 s). */
  drainTimeoutMs?: number;
  /** The `goodbye` reason. Default `server shutting down`. */
  reason?: string;
  /** Smallest `retryAfter` hint. Default 1000 ms. */
  retryAfterMs?: number;
  /**
   * Each client's hint is drawn uniformly from [retryAfterMs, retryAfterMs + this].
   * Default 4000 ms, or connections / `restartReconnectRate` seconds where that is more.
   */
  retrySpreadMs?: number;
}

/**
 * The hint spread of a drain that sets none: `restartRetrySpreadMs`, or wider where
 * `connections` would come back faster than `rate` per second.
 */
export function restartSpreadMs(connections: number, rate: number): number {
  return Math.max(SERVER_DEFAULTS.restartRetrySpreadMs, Math.ceil((connections * 1000) / rate));
}

const CLOSE_OPTION_KEYS = ['drainTimeoutMs', 'reason', 'retryAfterMs', 'retrySpreadMs'] as const;

/** Validates `close()` options; throws an `OptionError` naming the bad one. */
export function checkCloseOptions(options: CloseOptions): void {
  checkKnownKeys('close', options, CLOSE_OPTION_KEYS);
  for (const key of ['drainTimeoutMs', 'retryAfterMs', 'retrySpreadMs'] as const) {
    const value = options[key];
    if (value !== undefined) checkInt(`close.${key}`, value, 0);
  }
  if (options.reason !== undefined && typeof options.reason !== 'string') {
    throw new OptionError('close.reason', `expected a string, got ${typeof options.reason}`);
  }
}
