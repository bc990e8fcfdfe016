/**
 * Per-topic history bounds: the store-wide `historyMaxCount`/`historyMaxAgeMs`,
 * overridden per topic by the `historyFor` option (the hub maps its topic
 * namespaces onto it). Both stores ask on every append, so the answer is
 * cached per topic name and the callback runs once per topic.
 */
import { checkInt, OptionError } from '@tether/common';
import type { TopicHistoryLimits } from './store-options.js';

/** What `historyFor` returns for a topic: absent fields use the store-wide bound. */
export interface TopicHistoryOverride {
  /** Publications kept for this topic (≥ 0). */
  maxCount?: number;
  /** Age in ms after which this topic's publications are trimmed (≥ 1). */
  maxAgeMs?: number;
}

/** The `historyFor` store option. */
export type HistoryFor = (topic: string) => TopicHistoryOverride | undefined;

/** The history bounds in force for one topic. */
export interface TopicHistoryBounds {
  maxCount: number;
  maxAgeMs: number;
}

/**
 * Cached topic names at most. Past it the cache starts over (the callback
 * runs again, once per topic), so one-off topic names cannot grow it without
 * bound; far above the number of live topics of one process.
 */
const CACHE_MAX = 10_000;

/** Resolves and caches the bounds of each topic. */
export class TopicBounds {
  private readonly cache = new Map<string, TopicHistoryBounds>();
  private readonly fallback: TopicHistoryBounds;
  private readonly historyFor: HistoryFor | undefined;
  private minAge: number;

  constructor(limits: TopicHistoryLimits) {
    this.fallback = { maxCount: limits.historyMaxCount, maxAgeMs: limits.historyMaxAgeMs };
    this.historyFor = limits.historyFor;
    this.minAge = limits.historyMaxAgeMs;
  }

  /** Whether some topic may have bounds other than the store-wide ones. */
  get perTopic(): boolean {
    return this.historyFor !== undefined;
  }

  /** The store-wide bounds. */
  get storeWide(): TopicHistoryBounds {
    return this.fallback;
  }

  /**
   * The smallest age bound of any topic resolved so far (the store-wide one
   * included): a sweep looking for expired publications need not look at
   * anything newer than `now - minAgeMs`.
   */
  get minAgeMs(): number {
    return this.minAge;
  }

  /**
   * The bounds of `topic`. A bound `historyFor` returns is checked like the
   * store option (an `OptionError` naming `store.historyFor("topic").maxCount`);
   * a throwing callback fails the operation and is asked again next time.
   */
  of(topic: string): TopicHistoryBounds {
    const historyFor = this.historyFor;
    if (historyFor === undefined) return this.fallback;
    const cached = this.cache.get(topic);
    if (cached !== undefined) return cached;
    const override = historyFor(topic);
    const name = `store.historyFor(${JSON.stringify(topic)})`;
    if (override !== undefined && (typeof override !== 'object' || override === null)) {
      throw new OptionError(name, 'expected { maxCount?, maxAgeMs? } or undefined');
    }
    const bounds: TopicHistoryBounds =
      override === undefined
        ? this.fallback
        : {
            maxCount: checkInt(`${name}.maxCount`, override.maxCount ?? this.fallback.maxCount, 0),
            maxAgeMs: checkInt(`${name}.maxAgeMs`, override.maxAgeMs ?? this.fallback.maxAgeMs, 1),
          };
    if (this.cache.size >= CACHE_MAX) this.cache.clear();
    this.cache.set(topic, bounds);
    if (bounds.maxAgeMs < this.minAge) this.minAge = bounds.maxAgeMs;
    return bounds;
  }
}
