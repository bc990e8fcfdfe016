/**
 * Topic histories in SQLite: synchronous operations on prepared statements,
 * run by `SqliteStore` inside its batched transactions. Offsets are assigned
 * from the `topics.head` column inside a write transaction (BEGIN IMMEDIATE),
 * so several processes appending to one file stay contiguous.
 */

import {
  canReplayTopic,
  newEpoch,
  nextPublication,
  type PageBounds,
  type Publication,
  publicationBytes,
  StoreError,
  StoreErrorCode,
  type TopicAppend,
  TopicBounds,
  type TopicHistoryLimits,
  type TopicPosition,
  type TopicReplay,
  type TopicSnapshot,
  takePage,
} from '@tether/server/store';
import type { SqliteDatabase } from './sqlite-driver.js';

/** A topic's row: its epoch, newest offset and idle clock. */
export interface TopicRow {
  epoch: string;
  head: number;
  last_at: number;
}

interface PublicationRow {
  offset: number;
  time: number;
  data: string;
  frame: string | null;
}

/** Synchronous topic operations over one connection. */
export class SqliteTopics {
  private readonly bounds: TopicBounds;
  private readonly s: ReturnType<typeof prepareStatements>;

  constructor(
    db: SqliteDatabase,
    private readonly limits: TopicHistoryLimits,
  ) {
    this.bounds = new TopicBounds(limits);
    this.s = prepareStatements(db);
  }

  /** The topic's row, or `undefined` when it has no history yet (a read that may need a write). */
  find(topic: string): TopicRow | undefined {
    return this.s.get.get(topic) as TopicRow | undefined;
  }

  /** The topic's row, starting its history (a new epoch, head 0) if it has none. A write. */
  ensure(topic: string, now: number): TopicRow {
    const found = this.find(topic);
    if (found) return found;
    this.s.insert.run(topic, newEpoch(), now);
    const row = this.find(topic);
    if (!row) throw new StoreError(StoreErrorCode.FAILED, `topic ${topic}: insert was lost`);
    return row;
  }

  append(append: TopicAppend, now: number): Publication {
    const { topic, data, time } = append;
    const start = () => this.ensure(topic, now);
    const { maxCount, pub } = nextPublication(append, this.bounds, start);
    this.s.advance.run(pub.offset, time, topic);
    if (maxCount > 0) {
      this.s.insertPub.run(topic, pub.offset, time, data, pub.frame);
      if (pub.offset > maxCount) this.s.trimUpTo.run(topic, pub.offset - maxCount);
    }
    return pub;
  }

  after(
    row: TopicRow,
    topic: string,
    from: TopicPosition,
    { max, budget }: PageBounds,
  ): TopicReplay {
    const oldest = this.oldest(topic, row.head);
    if (!canReplayTopic(row.epoch, row.head, oldest, from)) {
      return { recovered: false, epoch: row.epoch, offset: row.head, publications: [] };
    }
    const rows = from.offset >= row.head ? [] : this.page(topic, from.offset, max, budget);
    return {
      recovered: true,
      epoch: row.epoch,
      offset: row.head,
      publications: rows.map((r) => toPublication(row.epoch, r)),
    };
  }

  /**
   * The oldest page of the newest `n`: retained offsets are contiguous up to the head,
   * so they are the ones after `head - n`, read forward by a cursor that stops at the
   * page bound (a huge `n` reads one page, not the whole history).
   */
  last(row: TopicRow, topic: string, n: number, { max, budget }: PageBounds): TopicSnapshot {
    const rows = n === 0 ? [] : this.page(topic, Math.max(0, row.head - n), max, budget);
    return {
      epoch: row.epoch,
      offset: row.head,
      publications: rows.map((r) => toPublication(row.epoch, r)),
    };
  }

  /**
   * Drops publications older than the topic's age bound (for each topic,
   * everything up to its newest expired one, so the retained history stays
   * contiguous), then topics with no history left and no publication since
   * the idle bound.
   */
  sweep(now: number): { trimmed: number; dropped: number } {
    const trimmed = this.bounds.perTopic ? this.trimAgedPerTopic(now) : this.trimAged(now);
    const dropped = this.s.dropIdle.run(now - this.limits.topicIdleMs).changes;
    return { trimmed, dropped };
  }

  /**
   * Applies the count bound to every topic: needed once when a file is opened
   * with a smaller bound. With `historyFor`, topic by topic (one callback per
   * topic, which also primes the bounds the sweep relies on).
   */
  trimAllByCount(): number {
    if (!this.bounds.perTopic) {
      return this.s.trimAllByCount.run(this.limits.historyMaxCount).changes;
    }
    let trimmed = 0;
    const heads = this.s.heads.all() as { topic: string; head: number }[];
    for (const { topic, head } of heads) {
      const { maxCount } = this.bounds.of(topic);
      if (head > maxCount) trimmed += this.s.trimUpTo.run(topic, head - maxCount).changes;
    }
    return trimmed;
  }

  /** One age bound for all: one grouped query, one delete per topic with expired publications. */
  private trimAged(now: number): number {
    let trimmed = 0;
    const expired = this.s.expiredByTopic.all(now - this.limits.historyMaxAgeMs) as {
      topic: string;
      upto: number;
    }[];
    for (const { topic, upto } of expired) trimmed += this.s.trimUpTo.run(topic, upto).changes;
    return trimmed;
  }

  /**
   * Per-topic age bounds, without a callback per row: one grouped query finds
   * the topics with a publication older than the loosest cutoff (that of the
   * smallest age bound known), then each of them is trimmed at its own cutoff.
   * A topic only another process has published to, with a bound smaller than
   * any known here, is found once it is older than that loosest cutoff, and
   * is then known for good.
   */
  private trimAgedPerTopic(now: number): number {
    let trimmed = 0;
    const candidates = this.s.expiredSince.all(now - this.bounds.minAgeMs) as {
      topic: string;
      oldest: number;
    }[];
    for (const { topic, oldest } of candidates) {
      const cutoff = now - this.bounds.of(topic).maxAgeMs;
      if (oldest < cutoff) trimmed += this.s.trimExpired.run(topic, topic, cutoff).changes;
    }
    return trimmed;
  }

  /** Publications after `offset`, oldest first, bounded as {@link takePage} says. */
  private page(topic: string, offset: number, max: number, budget: number): PublicationRow[] {
    if (max === 0) return [];
    const cursor = this.s.after.iterate(
      topic,
      offset,
      Number.isFinite(max) ? max : -1,
    ) as IterableIterator<PublicationRow>;
    return takePage(cursor, max, budget, publicationBytes);
  }

  counts(): { topics: number; publications: number } {
    return this.s.counts.get() as { topics: number; publications: number };
  }

  private oldest(topic: string, head: number): number {
    const min = this.s.oldest.get(topic) as number | null | undefined;
    return min ?? head + 1;
  }
}

function toPublication(epoch: string, r: PublicationRow): Publication {
  return { epoch, offset: r.offset, time: r.time, data: r.data, frame: r.frame };
}

/** The prepared statements of {@link SqliteTopics}. */
function prepareStatements(db: SqliteDatabase) {
  return {
    get: db.prepare('SELECT epoch, head, last_at FROM topics WHERE topic = ?'),
    insert: db.prepare(
      `INSERT INTO topics (topic, epoch, head, last_at) VALUES (?, ?, 0, ?)
       ON CONFLICT (topic) DO NOTHING`,
    ),
    advance: db.prepare('UPDATE topics SET head = ?, last_at = ? WHERE topic = ?'),
    insertPub: db.prepare(
      'INSERT INTO publications (topic, offset, time, data, frame) VALUES (?, ?, ?, ?, ?)',
    ),
    trimUpTo: db.prepare('DELETE FROM publications WHERE topic = ? AND offset <= ?'),
    oldest: db.prepare('SELECT MIN(offset) FROM publications WHERE topic = ?').pluck(),
    after: db.prepare(
      `SELECT offset, time, data, frame FROM publications
       WHERE topic = ? AND offset > ? ORDER BY offset LIMIT ?`,
    ),
    expiredByTopic: db.prepare(
      'SELECT topic, MAX(offset) AS upto FROM publications WHERE time < ? GROUP BY topic',
    ),
    dropIdle: db.prepare(
      `DELETE FROM topics WHERE last_at <= ?
       AND NOT EXISTS (SELECT 1 FROM publications p WHERE p.topic = topics.topic)`,
    ),
    trimAllByCount: db.prepare(
      `DELETE FROM publications
       WHERE offset <= (SELECT t.head FROM topics t WHERE t.topic = publications.topic) - ?`,
    ),
    // Per-topic age bounds: the oldest publication (by time) of each topic that
    // has any older than the loosest cutoff; the publications_by_time index
    // serves it, one row per topic.
    expiredSince: db.prepare(
      'SELECT topic, MIN(time) AS oldest FROM publications WHERE time < ? GROUP BY topic',
    ),
    trimExpired: db.prepare(
      `DELETE FROM publications WHERE topic = ? AND offset <= (
         SELECT MAX(offset) FROM publications WHERE topic = ? AND time < ?)`,
    ),
    heads: db.prepare('SELECT topic, head FROM topics'),
    counts: db.prepare(
      `SELECT (SELECT COUNT(*) FROM topics) AS topics,
              (SELECT COUNT(*) FROM publications) AS publications`,
    ),
  };
}
