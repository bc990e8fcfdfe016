import { fullJitterDelay, hintedDelay } from '@tether/common';
import { type CloseAction, CloseCode } from '@tether/protocol';

/** What a user-supplied `reconnectDelay` function is told. */
export interface RetryContext {
  /** Reconnect attempts in a row since the last stable connection, this one included (1 = first). */
  attempt: number;
  /** The close code that ended the previous attempt. */
  closeCode: number;
  /** The server's hint in ms (goodbye `retryAfter`, HTTP `Retry-After`), if any. */
  retryAfterMs: number | undefined;
  /** The delay the built-in policy would use. */
  suggestedDelayMs: number;
}

/** Returns the delay in ms before the next attempt; non-finite or negative values fall back to the suggestion. */
export type ReconnectDelayFn = (context: RetryContext) => number;

/**
 * `backoff`: full jitter. `hint`: the server's retry-after plus jitter. `immediate`: no
 * wait (4009). `failover`: no wait, to a URL not yet tried in this round. `custom`:
 * `reconnectDelay`.
 */
export type RetryKind = 'backoff' | 'hint' | 'immediate' | 'failover' | 'custom';

/** Which reconnect is planned. */
export interface RetryStep {
  /** Reconnect attempts in a row (1-based), what `reconnectDelay` sees as `attempt`. */
  attempt: number;
  /** Waits planned in a row (1-based): the backoff's exponent. With one URL, `attempt`. */
  waits: number;
  /** The attempt goes to a URL not yet tried in this round: no wait. */
  failover: boolean;
}

export interface RetryPolicyOptions {
  minReconnectDelayMs: number;
  maxReconnectDelayMs: number;
  reconnectFactor: number;
  retryAfterSpread: number;
  reconnectDelay: ReconnectDelayFn | undefined;
  random: () => number;
}

export interface RetryPlan {
  delayMs: number;
  kind: RetryKind;
}

/**
 * The delay before reconnect `step`, decided by the close code's action from the
 * protocol's table:
 * - a failover to a URL not yet tried in this round: 0 (a hint was the old node's);
 * - `reconnect-now` (4009): 0;
 * - a server hint, whatever the code: uniform in `[hint, hint + spread]` where
 *   `spread = max(minReconnectDelayMs, hint * retryAfterSpread)`;
 * - otherwise full jitter: uniform in `[minReconnectDelayMs,
 *   min(maxReconnectDelayMs, minReconnectDelayMs * factor^waits)]`, so the
 *   first retry waits 0.5-1 s, the second 0.5-2 s, ... up to 0.5-30 s.
 * A `reconnectDelay` function, when given, sees that suggestion and decides.
 */
export function planRetry(
  options: RetryPolicyOptions,
  step: RetryStep,
  closeCode: number,
  action: CloseAction,
  retryAfterMs: number | undefined,
): RetryPlan {
  const { attempt, waits } = step;
  let plan: RetryPlan;
  if (step.failover) {
    plan = { delayMs: 0, kind: 'failover' };
  } else if (action === 'reconnect-now' && retryAfterMs === undefined) {
    plan = { delayMs: 0, kind: 'immediate' };
  } else if (retryAfterMs !== undefined) {
    const spread = Math.max(options.minReconnectDelayMs, retryAfterMs * options.retryAfterSpread);
    plan = { delayMs: hintedDelay(retryAfterMs, spread, options.random), kind: 'hint' };
  } else {
    const backoff = {
      minDelayMs: options.minReconnectDelayMs,
      maxDelayMs: options.maxReconnectDelayMs,
      factor: options.reconnectFactor,
    };
    plan = { delayMs: fullJitterDelay(waits, backoff, options.random), kind: 'backoff' };
  }
  if (options.reconnectDelay) {
    const custom = options.reconnectDelay({
      attempt,
      closeCode,
      retryAfterMs,
      suggestedDelayMs: plan.delayMs,
    });
    if (typeof custom === 'number' && Number.isFinite(custom) && custom >= 0) {
      plan = { delayMs: custom, kind: 'custom' };
    }
  }
  return plan;
}

/**
 * Parses an HTTP `Retry-After` header: delta-seconds or an HTTP date.
 * Returns milliseconds, or undefined when absent or malformed.
 */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - nowMs);
}

/**
 * A refused upgrade as a close code, so the close-code table alone decides
 * what follows (Node's `ws` exposes the HTTP status; browsers only report 1006):
 * 401 -> 4001, 403 -> 4003 (final); 404 -> 4004 (final: no endpoint at this path,
 * retrying the same URL cannot help); 400/426 -> 1002 (final: the server does not
 * accept this client's protocol); 429 -> 1013 and 503 -> 1012 (reconnect after
 * the `Retry-After` hint); anything else -> 1006 (reconnect with backoff).
 */
export function closeCodeForHttpStatus(status: number): number {
  switch (status) {
    case 401:
      return CloseCode.UNAUTHORIZED;
    case 403:
      return CloseCode.FORBIDDEN;
    case 404:
      return CloseCode.NOT_FOUND;
    case 400:
    case 426:
      return CloseCode.PROTOCOL_ERROR;
    case 429:
      return CloseCode.TRY_AGAIN_LATER;
    case 503:
      return CloseCode.SERVICE_RESTART;
    default:
      return CloseCode.ABNORMAL;
  }
}

/**
 * A retry-after hint in a close reason, for servers that close without a
 * `goodbye` frame: `retry-after=<ms>` anywhere in the reason (case-insensitive).
 */
export function retryAfterFromReason(reason: string): number | undefined {
  const match = /retry-after\s*[=:]\s*(\d+)/i.exec(reason);
  return match ? Number(match[1]) : undefined;
}
