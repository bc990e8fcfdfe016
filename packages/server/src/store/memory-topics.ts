/**
 * Topic histories in process memory: synchronous operations that `MemoryStore`
 * wraps, on arguments `StoreBase` has checked. Each topic keeps its retained
 * publications as one array with contiguous offsets, so "after offset N" is an
 * index computation.
 */

import type { Publication, TopicPosition, TopicReplay, TopicSnapshot } from './store.js';
import type { PageBounds, TopicAppend } from './store-base.js';
import type { TopicHistoryLimits } from './store-options.js';
import {
  canReplayTopic,
  newEpoch,
  nextPublication,
  publicationBytes,
  takePage,
} from './store-rules.js';
import { TopicBounds } from './topic-bounds.js';

interface TopicEntry {
  epoch: string;
  head: number;
  /** Retained publications, contiguous offsets, oldest first. */
  pubs: Retained;
  /** Time of the last publication (or of creation): the idle clock. */
  lastAt: number;
}

/** Synchronous topic operations on in-memory histories. */
export class MemoryTopics {
  private readonly topics = new Map<string, TopicEntry>();
  private readonly bounds: TopicBounds;

  constructor(private readonly limits: TopicHistoryLimits) {
    this.bounds = new TopicBounds(limits);
  }

  append(append: TopicAppend, now: number): Publication {
    const next = nextPublication(append, this.bounds, () => this.ensure(append.topic, now));
    const { topic: t, maxCount } = next;
    const pub = Object.freeze(next.pub);
    t.head = pub.offset;
    t.lastAt = pub.time;
    if (maxCount > 0) {
      t.pubs.push(pub);
      if (t.pubs.length > maxCount) t.pubs.dropOldest(t.pubs.length - maxCount);
    }
    return pub;
  }

  after(topic: string, from: TopicPosition, { max, budget }: PageBounds, now: number): TopicReplay {
    const t = this.ensure(topic, now);
    const oldest = t.pubs.at(0)?.offset ?? t.head + 1;
    if (!canReplayTopic(t.epoch, t.head, oldest, from)) {
      return { recovered: false, epoch: t.epoch, offset: t.head, publications: [] };
    }
    const start = from.offset + 1 - oldest;
    const publications = takePage(t.pubs.from(start), max, budget, publicationBytes);
    return { recovered: true, epoch: t.epoch, offset: t.head, publications };
  }

  last(topic: string, n: number, { max, budget }: PageBounds, now: number): TopicSnapshot {
    const t = this.ensure(topic, now);
    const start = Math.max(0, t.pubs.length - n);
    const publications = n === 0 ? [] : takePage(t.pubs.from(start), max, budget, publicationBytes);
    return { epoch: t.epoch, offset: t.head, publications };
  }

  head(topic: string, now: number): TopicPosition {
    const t = this.ensure(topic, now);
    return { epoch: t.epoch, offset: t.head };
  }

  /**
   * Drops publications older than the topic's age bound (oldest first, so
   * the retained history stays contiguous), then topics with no history left
   * and no publication since the idle bound.
   */
  sweep(now: number): { trimmed: number; dropped: number } {
    const idleCutoff = now - this.limits.topicIdleMs;
    let trimmed = 0;
    let dropped = 0;
    for (const [name, t] of this.topics) {
      const cutoff = t.pubs.length === 0 ? 0 : now - this.bounds.of(name).maxAgeMs;
      let old = 0;
      while (old < t.pubs.length && (t.pubs.at(old)?.time ?? now) < cutoff) old++;
      if (old > 0) {
        t.pubs.dropOldest(old);
        trimmed += old;
      }
      if (t.pubs.length === 0 && t.lastAt <= idleCutoff) {
        this.topics.delete(name);
        dropped++;
      }
    }
    return { trimmed, dropped };
  }

  counts(): { topics: number; publications: number } {
    let publications = 0;
    for (const t of this.topics.values()) publications += t.pubs.length;
    return { topics: this.topics.size, publications };
  }

  /** The topic's entry, starting its history (a new epoch, head 0) if it has none. */
  private ensure(name: string, now: number): TopicEntry {
    let t = this.topics.get(name);
    if (!t) {
      t = { epoch: newEpoch(), head: 0, pubs: new Retained(), lastAt: now };
      this.topics.set(name, t);
    }
    return t;
  }
}

/**
 * A topic's retained publications, oldest first: a window over an array whose front
 * is dropped by moving the window's start, the array compacted once the dropped part
 * is half of it. A full history drops one publication per append: removing it from
 * the array's front moved every other element each time (a 1,000-publication history
 * under bursts of fan-out: about 1.5 % of the server's CPU samples in that splice and
 * its write barriers).
 */
export class Retained {
  private items: Array<Publication | undefined> = [];
  /** Index of the oldest retained publication in `items`. */
  private start = 0;

  get length(): number {
    return this.items.length - this.start;
  }

  /** The `i`-th oldest retained publication. */
  at(i: number): Publication | undefined {
    return i < 0 ? undefined : this.items[this.start + i];
  }

  push(pub: Publication): void {
    this.items.push(pub);
  }

  /** Drops the `n` oldest (their slots are cleared at once: nothing dropped stays reachable). */
  dropOldest(n: number): void {
    const end = Math.min(this.items.length, this.start + n);
    for (let i = this.start; i < end; i++) this.items[i] = undefined;
    this.start = end;
    if (this.start === this.items.length) {
      this.items = [];
      this.start = 0;
    } else if (this.start >= COMPACT_FROM && this.start * 2 >= this.items.length) {
      this.items = this.items.slice(this.start);
      this.start = 0;
    }
  }

  /** The retained publications from the `i`-th oldest on, without copying. */
  *from(i: number): Generator<Publication> {
    for (let k = this.start + Math.max(0, i); k < this.items.length; k++) {
      yield this.items[k] as Publication;
    }
  }
}

/** Below this many dropped slots a window is not compacted (small histories). */
const COMPACT_FROM = 64;
