/**
 * The Redis store: sessions, session logs and topic histories in one Redis shared by
 * every server process of a deployment, so a client resumes its session and its topic
 * positions on any node. Each operation is one Lua script (atomic across nodes: two
 * nodes never assign one offset or one seq twice), sent on one connection (operations
 * of one store take effect in call order). Topic and session logs are Redis Streams.
 */
import type * as S from '@tether/server/store';
import { checkCount, checkName, newEpoch, StoreBase } from '@tether/server/store';
import { RedisBroker } from './broker.js';
import { NodeLease } from './node-lease.js';
import {
  type RedisStoreOptions,
  type ResolvedRedisOptions,
  resolveRedisOptions,
} from './options.js';
import { appendPublication } from './redis-append.js';
import { RedisConnection } from './redis-connection.js';
import { appendArgs, opt, pageArgs, type Reply, snapshotOf, withSid } from './replies.js';

/** A {@link Store} in Redis, shared by every server process that names the same Redis and prefix. */
export class RedisStore extends StoreBase<ResolvedRedisOptions> implements S.Store, S.SharedStore {
  readonly kind = 'redis';
  readonly node: string;
  private readonly connection: RedisConnection;
  private readonly broker: RedisBroker;
  private readonly lease: NodeLease;
  private readonly prefix: string;
  private closed = false;

  constructor(options: RedisStoreOptions) {
    super(resolveRedisOptions(options));
    this.prefix = this.options.prefix;
    this.node = this.options.node;
    this.connection = new RedisConnection(this.options);
    this.broker = new RedisBroker(this.options.url, this.connection.redisOptions, this.prefix);
    this.startSweep('redis-store-sweep');
    this.lease = new NodeLease(this.connection, this.options);
  }

  /** The store itself: it is shared by every process naming the same Redis and prefix. */
  get shared(): S.SharedStore {
    return this;
  }

  // ---- shared-store API ----

  health(): S.StoreHealth {
    return this.connection.health();
  }

  onHealth(listener: (health: S.StoreHealth) => void): () => void {
    return this.connection.onHealth(listener);
  }

  onReset(listener: () => void): () => void {
    return this.connection.onReset(listener);
  }

  subscribePublications(topic: string, listener: (publication: S.Publication) => void): () => void {
    return this.broker.subscribe(topic, listener);
  }

  onSessionEvent(listener: (event: S.SessionEvent) => void): () => void {
    return this.broker.onSessionEvent(this.node, listener);
  }

  onResubscribed(listener: () => void): () => void {
    return this.broker.onResubscribed(listener);
  }

  detachSession(sid: string, disconnectedAt: number, expiresAt: number): Promise<boolean> {
    return this.op(() => {
      checkName('sid', sid);
      checkCount('disconnectedAt', disconnectedAt);
      checkCount('expiresAt', expiresAt);
      return this.redis
        .detachSession(this.prefix, sid, this.node, disconnectedAt, expiresAt)
        .then((n) => Number(n) === 1);
    });
  }

  /**
   * Renews this node's lease and releases the sessions of nodes whose lease ran out;
   * resolves with how many it released. Also runs on its own timer (`nodeLeaseMs` / 3).
   */
  renewLease(): Promise<number> {
    return this.lease.renew();
  }

  // ---- sessions ----

  protected insertSession(record: S.SessionRecord): Promise<S.SessionRecord> {
    return this.op(() => {
      const { sid } = record;
      return this.redis
        .createSession(
          this.prefix,
          sid,
          record.tokenHash,
          opt(record.userId),
          opt(record.node),
          record.createdAt,
          opt(record.disconnectedAt),
          opt(record.expiresAt),
        )
        .then((flat) => withSid(sid, flat) as S.SessionRecord);
    });
  }

  getSession(sid: string): Promise<S.SessionRecord | undefined> {
    return this.op(() =>
      this.redis.getSession(this.prefix, sid).then((flat) => withSid(sid, flat)),
    );
  }

  protected patchSession(sid: string, patch: S.CheckedSessionPatch): Promise<S.SessionRecord> {
    return this.op(() =>
      this.redis
        .updateSession(
          this.prefix,
          sid,
          opt(patch.tokenHash),
          opt(patch.userId),
          opt(patch.node),
          opt(patch.disconnectedAt),
          opt(patch.expiresAt),
          opt(patch.ackedSeq),
          opt(patch.inSeq),
        )
        .then((flat) => withSid(sid, flat) as S.SessionRecord),
    );
  }

  deleteSession(sid: string): Promise<boolean> {
    return this.op(() => this.redis.deleteSession(this.prefix, sid).then((n) => n === 1));
  }

  sessionsOfUser(userId: string): Promise<S.SessionRecord[]> {
    return this.op(() =>
      this.redis.sessionsOfUser(this.prefix, userId).then((rows) => {
        const out: S.SessionRecord[] = [];
        for (const row of Array.isArray(rows) ? rows : []) {
          const [sid, flat] = row as [string, Reply];
          const r = withSid(String(sid), flat);
          if (r !== undefined) out.push(r);
        }
        return out;
      }),
    );
  }

  protected releaseConnected(now: number, expiresAt: number, node?: string): Promise<number> {
    return this.op(() =>
      this.redis.releaseSessions(this.prefix, now, expiresAt, node ?? '').then((n) => Number(n)),
    );
  }

  appendSessionMessages(
    sid: string,
    messages: readonly S.SessionMessage[],
  ): Promise<S.SessionAppendResult> {
    return this.op(() => {
      const { prefix, sessionMaxMessages, sessionMaxBytes } = this.options;
      const head = [prefix, sid, sessionMaxMessages, sessionMaxBytes];
      const args = appendArgs(head, this.node, messages);
      return this.redis.appendSession(...args).then((r) => {
        const [outSeq, dropped] = r as number[];
        return { outSeq: Number(outSeq), dropped: Number(dropped) };
      });
    });
  }

  protected readSessionMessages(
    sid: string,
    afterSeq: number,
    page: S.PageBounds,
  ): Promise<S.SessionReplay> {
    return this.op(() =>
      this.redis.sessionAfter(this.prefix, sid, afterSeq, ...pageArgs(page)).then((r) => {
        const flat = r as Reply[];
        const messages: S.SessionMessage[] = [];
        for (let i = 2; i < flat.length; i += 2) {
          messages.push({ seq: Number(flat[i]), payload: String(flat[i + 1]) });
        }
        return { messages, complete: flat[0] === 1, outSeq: Number(flat[1]) };
      }),
    );
  }

  protected trimSession(sid: string, uptoSeq: number): Promise<void> {
    return this.op(() => this.redis.trimSession(this.prefix, sid, uptoSeq).then(() => undefined));
  }

  // ---- topics ----

  protected appendToTopic(append: S.TopicAppend): Promise<S.Publication> {
    return this.op(() => {
      // Resolved before the offset is taken: a failing `historyFor` consumes nothing.
      const { maxCount, maxAgeMs } = this.options.bounds.of(append.topic);
      const request = { ...append, prefix: this.prefix, maxCount, maxAgeMs };
      return appendPublication(this.redis, { ...request, candidate: newEpoch() });
    });
  }

  protected readPublications(
    topic: string,
    from: S.TopicPosition,
    page: S.PageBounds,
  ): Promise<S.TopicReplay> {
    const { epoch, offset } = from;
    return this.op(() =>
      this.redis
        .publicationsAfter(this.prefix, topic, String(epoch), offset, ...this.topicPage(page))
        .then((r) => {
          const flat = r as Reply[];
          return { recovered: flat[0] === 1, ...snapshotOf(flat, 1) };
        }),
    );
  }

  protected readLastPublications(
    topic: string,
    n: number,
    page: S.PageBounds,
  ): Promise<S.TopicSnapshot> {
    return this.op(() =>
      this.redis
        .lastPublications(this.prefix, topic, n, ...this.topicPage(page))
        .then((r) => snapshotOf(r as Reply[], 0)),
    );
  }

  protected readTopicHead(topic: string): Promise<S.TopicPosition> {
    return this.op(() =>
      this.redis.topicHead(this.prefix, topic, newEpoch(), this.now()).then((r) => {
        const [epoch, offset] = r as [string, number];
        return { epoch: String(epoch), offset: Number(offset) };
      }),
    );
  }

  // ---- housekeeping ----

  protected removeExpired(now: number): Promise<S.SweepResult> {
    return this.op(() =>
      this.redis
        .sweep(this.prefix, now, this.options.historyMaxAgeMs, this.options.topicIdleMs)
        .then((r) => {
          const [expiredSessions, trimmedPublications, droppedTopics] = (r as number[]).map(Number);
          return {
            expiredSessions: expiredSessions ?? 0,
            trimmedPublications: trimmedPublications ?? 0,
            droppedTopics: droppedTopics ?? 0,
          };
        }),
    );
  }

  protected readCounts(): Promise<Omit<S.StoreStats, 'kind' | 'sweeps'>> {
    return this.op(() =>
      this.redis.stats(this.prefix).then((r) => {
        const [sessions, sessionMessages, topics, publications] = (r as number[]).map(Number);
        const counts = this.connection.operationCounts();
        return {
          sessions: sessions ?? 0,
          sessionMessages: sessionMessages ?? 0,
          topics: topics ?? 0,
          publications: publications ?? 0,
          transactions: counts.operations,
          operations: counts.operations,
          failedOperations: counts.failedOperations,
          // This stats call itself is still in flight.
          pendingOperations: Math.max(0, counts.pending - 1),
          largestBatch: 1,
        };
      }),
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopSweep();
    this.lease.stop();
    const closing = this.connection.close();
    await this.broker.close();
    await closing;
  }

  /** The periodic sweep waits while Redis is unreachable: it would only fail. */
  protected canSweep(): boolean {
    return !this.closed && this.connection.health().up;
  }

  // ---- internals ----

  private get redis() {
    return this.connection.client;
  }

  /** A topic read's last arguments: the page, and the epoch a topic without history starts with. */
  private topicPage(page: S.PageBounds): [max: number, budget: number, epoch: string, now: number] {
    return [...pageArgs(page), newEpoch(), this.now()];
  }

  private op<T>(fn: () => Promise<T>): Promise<T> {
    return this.connection.op(fn);
  }
}
