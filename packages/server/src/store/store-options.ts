/**
 * Options every store accepts (retention bounds, clock, sweep), validated at
 * construction with messages that name the option.
 */
import { type Clock, checkClock, checkFn, checkInt, checkKnownKeys } from '@tether/common';
import { STORE_DEFAULTS } from './defaults.js';
import type { StoreError } from './store.js';
import type { HistoryFor } from './topic-bounds.js';

/** Retention and housekeeping options shared by all stores. Defaults: `STORE_DEFAULTS`. */
export interface StoreOptions {
  /** Time source for the sweep timer and `sweep()` without an argument. Default: the system clock. */
  clock?: Clock;
  /** Publications kept per topic (default 1000). 0 keeps none: only live delivery. */
  historyMaxCount?: number;
  /** Age in ms after which a publication is trimmed by the sweep (default 10 min). */
  historyMaxAgeMs?: number;
  /**
   * Bounds of one topic's history, overriding `historyMaxCount`/`historyMaxAgeMs`
   * for it (absent fields, or `undefined`, keep the store-wide ones). Asked once
   * per topic name and cached, so it must always give the same answer for a
   * name. Default: none (every topic has the store-wide bounds).
   */
  historyFor?: HistoryFor;
  /** Unacked messages kept per session (default 10,000); older ones are dropped (a gap). */
  sessionMaxMessages?: number;
  /** Bytes of unacked payload kept per session (default 1 MiB). */
  sessionMaxBytes?: number;
  /** An empty topic idle this long (ms) is forgotten; its next history has a new epoch (default 1 h). */
  topicIdleMs?: number;
  /** Interval of the store's own retention sweep in ms (default 10 s); 0 disables it. */
  sweepIntervalMs?: number;
  /**
   * Receives failures of background work (the periodic sweep), which has no
   * caller to reject. Default: ignored (still counted in `stats().failedOperations`).
   */
  onError?: (error: StoreError) => void;
}

/** {@link StoreOptions} with every default applied. */
export interface ResolvedStoreOptions {
  clock: Clock;
  historyMaxCount: number;
  historyMaxAgeMs: number;
  historyFor: HistoryFor | undefined;
  sessionMaxMessages: number;
  sessionMaxBytes: number;
  topicIdleMs: number;
  sweepIntervalMs: number;
  onError: (error: StoreError) => void;
}

/** The bounds a topic history implementation needs. */
export type TopicHistoryLimits = Pick<
  ResolvedStoreOptions,
  'historyMaxCount' | 'historyMaxAgeMs' | 'historyFor' | 'topicIdleMs'
>;

/** The bounds a session log implementation needs. */
export type SessionLogLimits = Pick<ResolvedStoreOptions, 'sessionMaxMessages' | 'sessionMaxBytes'>;

/** The option names of {@link StoreOptions}, for unknown-key checks. */
export const STORE_OPTION_KEYS = [
  'clock',
  'historyMaxCount',
  'historyMaxAgeMs',
  'historyFor',
  'sessionMaxMessages',
  'sessionMaxBytes',
  'topicIdleMs',
  'sweepIntervalMs',
  'onError',
] as const;

const MAX_MS = 2_147_483_647;

/** Applies defaults and validates; `prefix` names the option in errors (`store.historyMaxCount`). */
export function resolveStoreOptions(
  options: StoreOptions,
  prefix: string,
  extraKeys: readonly string[] = [],
): ResolvedStoreOptions {
  checkKnownKeys(prefix, options, [...STORE_OPTION_KEYS, ...extraKeys]);
  const clock = checkClock(`${prefix}.clock`, options.clock);
  const d = STORE_DEFAULTS;
  return {
    clock,
    historyMaxCount: checkInt(
      `${prefix}.historyMaxCount`,
      options.historyMaxCount ?? d.historyMaxCount,
      0,
    ),
    historyMaxAgeMs: checkInt(
      `${prefix}.historyMaxAgeMs`,
      options.historyMaxAgeMs ?? d.historyMaxAgeMs,
      1,
    ),
    historyFor:
      options.historyFor === undefined
        ? undefined
        : checkFn(`${prefix}.historyFor`, options.historyFor),
    sessionMaxMessages: checkInt(
      `${prefix}.sessionMaxMessages`,
      options.sessionMaxMessages ?? d.sessionMaxMessages,
      1,
    ),
    sessionMaxBytes: checkInt(
      `${prefix}.sessionMaxBytes`,
      options.sessionMaxBytes ?? d.sessionMaxBytes,
      1,
    ),
    topicIdleMs: checkInt(`${prefix}.topicIdleMs`, options.topicIdleMs ?? d.topicIdleMs, 0),
    sweepIntervalMs: checkInt(
      `${prefix}.sweepIntervalMs`,
      options.sweepIntervalMs ?? d.sweepIntervalMs,
      0,
      MAX_MS,
    ),
    onError: options.onError === undefined ? ignore : checkFn(`${prefix}.onError`, options.onError),
  };
}

function ignore(): void {}
