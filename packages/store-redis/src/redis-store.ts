/**
 * The Redis store: sessions, session logs and topic histories in one Redis shared by
 * every server process of a deployment, so a client resumes its session and its topic
 * positions on any node. Each operation is one Lua script (atomic across nodes: two
 * nodes never assign one offset or one seq twice), sent on one connection (operations
 * of one store take effect in call order). Topic and session logs are Redis Streams.
 */
import { randomBytes } from 'node:crypto';
import { Sweep } from '@tether/common';
import {
  type NewSession,
  type Publication,
  type PublicationEncoder,
  type SessionAppendResult,
  type SessionMessage,
  type SessionPatch,
  type SessionRecord,
  type SessionReplay,
  type SharedStore,
  type Store,
  StoreError,
  StoreErrorCode,
  type StoreHealth,
  type StoreStats,
  type SweepResult,
  storeKit,
  type TopicPosition,
  type TopicReplay,
  type TopicSnapshot,
} from '@tether/server';
import { Redis } from 'ioredis';
import { endConnection, RedisBroker } from './broker.js';
import {
  type RedisStoreOptions,
  type ResolvedRedisOptions,
  resolveRedisOptions,
} from './options.js';
import * as S from './scripts-sessions.js';
import * as T from './scripts-topics.js';

const { checkCount, checkLimit, checkName, checkPublication, newEpoch, rotatedHash, hashToken } =
  storeKit;

type Reply = string | number | null | Reply[];

/** The commands the scripts define on the connection. */
type ScriptName =
  | 'createSession'
  | 'getSession'
  | 'updateSession'
  | 'deleteSession'
  | 'sessionsOfUser'
  | 'releaseSessions'
  | 'appendSession'
  | 'sessionAfter'
  | 'trimSession'
  | 'appendPublication'
  | 'publicationsAfter'
  | 'lastPublications'
  | 'topicHead'
  | 'sweep'
  | 'stats';

const SCRIPTS: Record<ScriptName, string> = {
  createSession: S.CREATE_SESSION,
  getSession: S.GET_SESSION,
  updateSession: S.UPDATE_SESSION,
  deleteSession: S.DELETE_SESSION,
  sessionsOfUser: S.SESSIONS_OF_USER,
  releaseSessions: S.RELEASE_SESSIONS,
  appendSession: S.APPEND_SESSION,
  sessionAfter: S.SESSION_AFTER,
  trimSession: S.TRIM_SESSION,
  appendPublication: T.APPEND_PUBLICATION,
  publicationsAfter: T.PUBLICATIONS_AFTER,
  lastPublications: T.LAST_PUBLICATIONS,
  topicHead: T.TOPIC_HEAD,
  sweep: T.SWEEP,
  stats: T.STATS,
};

/** Error replies of the scripts start with one of these codes. */
const SCRIPT_CODES = ['SESSION_EXISTS', 'SESSION_NOT_FOUND', 'SEQ_CONFLICT'] as const;

type ScriptClient = Redis & Record<ScriptName, (...args: (string | number)[]) => Promise<Reply>>;

/** Encodes an optional, nullable argument for the scripts: '' absent, '-' null, '=value'. */
function opt(value: string | number | null | undefined): string {
  if (value === undefined) return '';
  if (value === null) return '-';
  return `=${value}`;
}

function num(value: string | undefined): number | null {
  return value === undefined ? null : Number(value);
}

function recordOf(flat: Reply): SessionRecord | undefined {
  if (!Array.isArray(flat) || flat.length === 0) return undefined;
  const h: Record<string, string> = {};
  for (let i = 0; i < flat.length; i += 2) h[String(flat[i])] = String(flat[i + 1]);
  return {
    sid: '',
    tokenHash: h.th ?? '',
    userId: h.u ?? null,
    node: h.n ?? null,
    createdAt: Number(h.c),
    disconnectedAt: num(h.d),
    expiresAt: num(h.e),
    outSeq: Number(h.o),
    ackedSeq: Number(h.a),
    inSeq: Number(h.i),
  };
}

function withSid(sid: string, flat: Reply): SessionRecord | undefined {
  const r = recordOf(flat);
  if (r) r.sid = sid;
  return r;
}

/** Publications from a flat script reply: offset, time, data, frame per publication. */
function publicationsOf(epoch: string, flat: Reply[], start: number): Publication[] {
  const out: Publication[] = [];
  for (let i = start; i + 3 < flat.length + 1 && i < flat.length; i += 4) {
    out.push({
      epoch,
      offset: Number(flat[i]),
      time: Number(flat[i + 1]),
      data: String(flat[i + 2]),
      frame: flat[i + 3] === null || flat[i + 3] === undefined ? null : String(flat[i + 3]),
    });
  }
  return out;
}

/** A 16-digit number no payload is likely to contain: the offset marker of frame templates. */
function offsetMarker(): number {
  return 1_000_000_000_000_000 + (randomBytes(6).readUIntBE(0, 6) % 8_000_000_000_000_000);
}

/** A {@link Store} in Redis, shared by every server process that names the same Redis and prefix. */
export class RedisStore implements Store, SharedStore {
  readonly kind = 'redis';
  readonly node: string;
  private readonly options: ResolvedRedisOptions;
  private readonly redis: ScriptClient;
  private readonly broker: RedisBroker;
  private readonly sweeper: Sweep | undefined;
  private readonly prefix: string;
  private readonly healthListeners = new Set<(health: StoreHealth) => void>();
  private readonly resetListeners = new Set<() => void>();
  /** Operations waiting for the first connection, in call order. */
  private waiting: Array<{ run: () => void; fail: (err: StoreError) => void }> = [];
  private connectedOnce = false;
  private current: StoreHealth = { up: false, cause: 'connecting' };
  private generation: string | undefined;
  private firstConnectTimer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;
  private operations = 0;
  private failedOperations = 0;
  private pending = 0;
  private sweeps = 0;

  constructor(options: RedisStoreOptions) {
    this.options = resolveRedisOptions(options);
    this.prefix = this.options.prefix;
    this.node = this.options.node;
    const redisOptions = {
      ...this.options.redisOptions,
      // Never queue what cannot be stored now: while Redis is unreachable an operation
      // fails at once (STORE_UNAVAILABLE), so nothing is accepted that is not stored.
      enableOfflineQueue: false,
      // A command in flight when the connection drops fails; it is never sent again on
      // the next connection (it may have run: a resent append would run twice).
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      lazyConnect: false,
      retryStrategy: (attempt: number) =>
        Math.min(this.options.reconnectMaxMs, 50 * 2 ** Math.min(attempt, 10)),
    };
    this.redis = new Redis(this.options.url, redisOptions) as ScriptClient;
    for (const [name, lua] of Object.entries(SCRIPTS)) {
      this.redis.defineCommand(name, { numberOfKeys: 0, lua });
    }
    this.redis.on('ready', () => void this.onReady());
    this.redis.on('error', (err: Error) => {
      if (this.current.up) return;
      this.setHealth({ up: false, cause: `redis: ${err.message}` });
    });
    this.redis.on('close', () => {
      if (!this.closed) this.setHealth({ up: false, cause: 'redis: connection closed' });
    });
    this.firstConnectTimer = setTimeout(() => {
      this.firstConnectTimer = undefined;
      const waiting = this.waiting;
      this.waiting = [];
      for (const w of waiting) w.fail(this.unavailable());
    }, this.options.connectTimeoutMs);
    this.firstConnectTimer.unref?.();
    this.broker = new RedisBroker(this.options.url, redisOptions, this.prefix);
    const { sweepIntervalMs, clock } = this.options;
    if (sweepIntervalMs > 0) {
      this.sweeper = new Sweep('redis-store-sweep', sweepIntervalMs, () => this.sweepNow(), clock);
      this.sweeper.start();
    }
  }

  /** The store itself: it is shared by every process naming the same Redis and prefix. */
  get shared(): SharedStore {
    return this;
  }

  // ---- shared-store API ----

  health(): StoreHealth {
    return { ...this.current };
  }

  onHealth(listener: (health: StoreHealth) => void): () => void {
    this.healthListeners.add(listener);
    return () => this.healthListeners.delete(listener);
  }

  onReset(listener: () => void): () => void {
    this.resetListeners.add(listener);
    return () => this.resetListeners.delete(listener);
  }

  subscribePublications(topic: string, listener: (publication: Publication) => void): () => void {
    return this.broker.subscribe(topic, listener);
  }

  // ---- sessions ----

  createSession(init: NewSession): Promise<SessionRecord> {
    return this.op(() => {
      const sid = checkName('sid', init.sid);
      const token = hashToken(checkName('token', init.token));
      const createdAt = checkCount('createdAt', init.createdAt);
      return this.redis
        .createSession(
          this.prefix,
          sid,
          token,
          opt(init.userId ?? null),
          opt(init.node ?? null),
          createdAt,
          opt(init.disconnectedAt ?? null),
          opt(init.expiresAt ?? null),
        )
        .then((flat) => withSid(sid, flat) as SessionRecord);
    });
  }

  getSession(sid: string): Promise<SessionRecord | undefined> {
    return this.op(() =>
      this.redis.getSession(this.prefix, sid).then((flat) => withSid(sid, flat)),
    );
  }

  updateSession(sid: string, patch: SessionPatch): Promise<SessionRecord> {
    return this.op(() => {
      const token =
        patch.token === undefined ? undefined : rotatedHash(patch.token, patch.previousToken);
      const acked =
        patch.ackedSeq === undefined ? undefined : checkCount('ackedSeq', patch.ackedSeq);
      const inSeq = patch.inSeq === undefined ? undefined : checkCount('inSeq', patch.inSeq);
      return this.redis
        .updateSession(
          this.prefix,
          sid,
          opt(token),
          opt(patch.userId),
          opt(patch.node),
          opt(patch.disconnectedAt),
          opt(patch.expiresAt),
          opt(acked),
          opt(inSeq),
        )
        .then((flat) => withSid(sid, flat) as SessionRecord);
    });
  }

  deleteSession(sid: string): Promise<boolean> {
    return this.op(() => this.redis.deleteSession(this.prefix, sid).then((n) => n === 1));
  }

  sessionsOfUser(userId: string): Promise<SessionRecord[]> {
    return this.op(() =>
      this.redis.sessionsOfUser(this.prefix, userId).then((rows) => {
        const out: SessionRecord[] = [];
        for (const row of Array.isArray(rows) ? rows : []) {
          const [sid, flat] = row as [string, Reply];
          const r = withSid(String(sid), flat);
          if (r !== undefined) out.push(r);
        }
        return out;
      }),
    );
  }

  releaseSessions(now: number, expiresAt: number, node?: string): Promise<number> {
    return this.op(() => {
      checkCount('now', now);
      checkCount('expiresAt', expiresAt);
      return this.redis
        .releaseSessions(this.prefix, now, expiresAt, node ?? '')
        .then((n) => Number(n));
    });
  }

  appendSessionMessages(
    sid: string,
    messages: readonly SessionMessage[],
  ): Promise<SessionAppendResult> {
    return this.op(() => {
      if (!Array.isArray(messages) || messages.length === 0) {
        throw new StoreError(
          StoreErrorCode.INVALID_ARGUMENT,
          'messages: expected a non-empty array',
        );
      }
      const args: (string | number)[] = [
        this.prefix,
        sid,
        this.options.sessionMaxMessages,
        this.options.sessionMaxBytes,
        messages.length,
      ];
      messages.forEach((m, i) => {
        if (typeof m.payload !== 'string') {
          throw new StoreError(
            StoreErrorCode.INVALID_ARGUMENT,
            `messages[${i}].payload: expected a string`,
          );
        }
        args.push(typeof m.seq === 'number' ? m.seq : String(m.seq), m.payload);
      });
      return this.redis.appendSession(...args).then((r) => {
        const [outSeq, dropped] = r as number[];
        return { outSeq: Number(outSeq), dropped: Number(dropped) };
      });
    });
  }

  sessionMessagesAfter(
    sid: string,
    afterSeq: number,
    limit?: number,
    maxBytes?: number,
  ): Promise<SessionReplay> {
    return this.op(() => {
      checkCount('afterSeq', afterSeq);
      const max = bound(checkLimit('limit', limit));
      const budget = bound(checkLimit('maxBytes', maxBytes));
      return this.redis.sessionAfter(this.prefix, sid, afterSeq, max, budget).then((r) => {
        const flat = r as Reply[];
        const messages: SessionMessage[] = [];
        for (let i = 2; i < flat.length; i += 2) {
          messages.push({ seq: Number(flat[i]), payload: String(flat[i + 1]) });
        }
        return { messages, complete: flat[0] === 1, outSeq: Number(flat[1]) };
      });
    });
  }

  trimSessionMessages(sid: string, uptoSeq: number): Promise<void> {
    return this.op(() => {
      checkCount('uptoSeq', uptoSeq);
      return this.redis.trimSession(this.prefix, sid, uptoSeq).then(() => undefined);
    });
  }

  // ---- topics ----

  appendPublication(
    topic: string,
    data: string,
    time: number,
    encode?: PublicationEncoder,
  ): Promise<Publication> {
    return this.op(() => {
      checkName('topic', topic);
      checkPublication(time, data);
      // Resolved before the offset is taken: a failing `historyFor` consumes nothing.
      const { maxCount, maxAgeMs } = this.bounds.of(topic);
      const candidate = newEpoch();
      if (encode === undefined) {
        return this.append(topic, data, time, candidate, maxCount, maxAgeMs, ['none', '', '', '']);
      }
      // The frame holds the position the script assigns: encode once with markers that
      // the script replaces (the encoder is pure), so the append stays one atomic step.
      const epochMark = `~${randomBytes(12).toString('base64url')}`;
      const offsetMark = offsetMarker();
      const template = encode({ epoch: epochMark, offset: offsetMark, time, data });
      const quotedEpoch = JSON.stringify(epochMark);
      const offsetText = String(offsetMark);
      const epochs = occurrences(template, quotedEpoch);
      const offs = occurrences(template, offsetText);
      if (epochs === 0 && offs === 0) {
        return this.append(topic, data, time, candidate, maxCount, maxAgeMs, [
          'fixed',
          template,
          '',
          '',
        ]);
      }
      if (epochs <= 1 && offs === 1 && !data.includes(offsetText)) {
        return this.append(topic, data, time, candidate, maxCount, maxAgeMs, [
          'template',
          template,
          quotedEpoch,
          offsetText,
        ]);
      }
      // An encoder the markers cannot describe: encode for the position the head says
      // and let the script refuse if another append took it first.
      return this.appendExpecting(topic, data, time, candidate, maxCount, maxAgeMs, encode);
    });
  }

  publicationsAfter(
    topic: string,
    from: TopicPosition,
    limit?: number,
    maxBytes?: number,
  ): Promise<TopicReplay> {
    return this.op(() => {
      checkName('topic', topic);
      checkCount('from.offset', from.offset);
      const max = bound(checkLimit('limit', limit));
      const budget = bound(checkLimit('maxBytes', maxBytes));
      return this.redis
        .publicationsAfter(
          this.prefix,
          topic,
          String(from.epoch),
          from.offset,
          max,
          budget,
          newEpoch(),
          this.now(),
        )
        .then((r) => {
          const flat = r as Reply[];
          const epoch = String(flat[1]);
          return {
            recovered: flat[0] === 1,
            epoch,
            offset: Number(flat[2]),
            publications: publicationsOf(epoch, flat, 3),
          };
        });
    });
  }

  lastPublications(
    topic: string,
    n: number,
    limit?: number,
    maxBytes?: number,
  ): Promise<TopicSnapshot> {
    return this.op(() => {
      checkName('topic', topic);
      checkCount('n', n);
      const max = bound(checkLimit('limit', limit));
      const budget = bound(checkLimit('maxBytes', maxBytes));
      return this.redis
        .lastPublications(this.prefix, topic, n, max, budget, newEpoch(), this.now())
        .then((r) => {
          const flat = r as Reply[];
          const epoch = String(flat[0]);
          return { epoch, offset: Number(flat[1]), publications: publicationsOf(epoch, flat, 2) };
        });
    });
  }

  topicHead(topic: string): Promise<TopicPosition> {
    return this.op(() => {
      checkName('topic', topic);
      return this.redis.topicHead(this.prefix, topic, newEpoch(), this.now()).then((r) => {
        const [epoch, offset] = r as [string, number];
        return { epoch: String(epoch), offset: Number(offset) };
      });
    });
  }

  // ---- housekeeping ----

  sweep(now?: number): Promise<SweepResult> {
    return this.op(() => {
      const at = checkCount('now', now ?? this.now());
      this.sweeps++;
      return this.redis
        .sweep(this.prefix, at, this.options.historyMaxAgeMs, this.options.topicIdleMs)
        .then((r) => {
          const [expiredSessions, trimmedPublications, droppedTopics] = (r as number[]).map(Number);
          return {
            expiredSessions: expiredSessions ?? 0,
            trimmedPublications: trimmedPublications ?? 0,
            droppedTopics: droppedTopics ?? 0,
          };
        });
    });
  }

  stats(): Promise<StoreStats> {
    return this.op(() =>
      this.redis.stats(this.prefix).then((r) => {
        const [sessions, sessionMessages, topics, publications] = (r as number[]).map(Number);
        return {
          kind: this.kind,
          sessions: sessions ?? 0,
          sessionMessages: sessionMessages ?? 0,
          topics: topics ?? 0,
          publications: publications ?? 0,
          transactions: this.operations,
          operations: this.operations,
          failedOperations: this.failedOperations,
          // This stats call itself is still in flight.
          pendingOperations: Math.max(0, this.pending - 1),
          largestBatch: 1,
          sweeps: this.sweeps,
        };
      }),
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.sweeper?.stop();
    if (this.firstConnectTimer !== undefined) clearTimeout(this.firstConnectTimer);
    const waiting = this.waiting;
    this.waiting = [];
    for (const w of waiting) w.fail(new StoreError(StoreErrorCode.CLOSED, 'store is closed'));
    await this.broker.close();
    await endConnection(this.redis);
  }

  // ---- internals ----

  private get bounds(): storeKit.TopicBounds {
    return this.options.bounds;
  }

  private append(
    topic: string,
    data: string,
    time: number,
    candidate: string,
    maxCount: number,
    maxAgeMs: number,
    frame: [mode: string, frame: string, epochMark: string, offsetMark: string],
  ): Promise<Publication> {
    return this.appendRaw(topic, data, time, candidate, maxCount, maxAgeMs, frame, ['', 0]).then(
      (r) => publicationOf(r, time, data),
    );
  }

  private appendRaw(
    topic: string,
    data: string,
    time: number,
    candidate: string,
    maxCount: number,
    maxAgeMs: number,
    frame: [mode: string, frame: string, epochMark: string, offsetMark: string],
    expected: [epoch: string, offset: number],
  ): Promise<Reply[]> {
    return this.redis
      .appendPublication(
        this.prefix,
        topic,
        data,
        time,
        candidate,
        maxCount,
        maxAgeMs,
        ...frame,
        ...expected,
      )
      .then((r) => r as Reply[]);
  }

  private async appendExpecting(
    topic: string,
    data: string,
    time: number,
    candidate: string,
    maxCount: number,
    maxAgeMs: number,
    encode: PublicationEncoder,
  ): Promise<Publication> {
    const [headEpoch, headOffset] = (await this.redis.topicHead(
      this.prefix,
      topic,
      candidate,
      time,
    )) as [string, number];
    let epoch = String(headEpoch);
    let offset = Number(headOffset) + 1;
    for (;;) {
      const frame = encode({ epoch, offset, time, data });
      const r = await this.appendRaw(
        topic,
        data,
        time,
        candidate,
        maxCount,
        maxAgeMs,
        ['expect', frame, '', ''],
        [epoch, offset],
      );
      if (Number(r[0]) !== 0) return publicationOf(r, time, data);
      // Another append took the position first: { 0, epoch, head } is where it is now.
      epoch = String(r[1]);
      offset = Number(r[2]) + 1;
    }
  }

  /**
   * Runs one store operation: refused after close, held until the first connection,
   * refused at once while Redis is unreachable, counted, failures as StoreErrors.
   */
  private op<T>(fn: () => Promise<T>): Promise<T> {
    if (this.closed) {
      this.failedOperations++;
      return Promise.reject(new StoreError(StoreErrorCode.CLOSED, 'store is closed'));
    }
    return new Promise<T>((resolve, reject) => {
      const run = (): void => {
        this.pending++;
        let started: Promise<T>;
        try {
          if (!this.current.up && this.connectedOnce) throw this.unavailable();
          started = fn();
        } catch (err) {
          started = Promise.reject(err);
        }
        started.then(
          (value) => {
            this.pending--;
            this.operations++;
            resolve(value);
          },
          (err: unknown) => {
            this.pending--;
            this.failedOperations++;
            reject(this.storeError(err));
          },
        );
      };
      if (this.connectedOnce || this.current.up) run();
      else
        this.waiting.push({
          run,
          fail: (err) => {
            this.failedOperations++;
            reject(err);
          },
        });
    });
  }

  private unavailable(): StoreError {
    return new StoreError(
      StoreErrorCode.UNAVAILABLE,
      `redis store unavailable (${this.current.cause ?? 'not connected'})`,
      { retryable: true },
    );
  }

  private storeError(err: unknown): StoreError {
    if (err instanceof StoreError) return err;
    const message = err instanceof Error ? err.message : String(err);
    for (const code of SCRIPT_CODES) {
      if (message.startsWith(`${code} `)) {
        return new StoreError(StoreErrorCode[codeKey(code)], message.slice(code.length + 1));
      }
    }
    if (/ERR Error running script|user_script/.test(message)) {
      return new StoreError(StoreErrorCode.FAILED, `redis store: ${message}`, { cause: err });
    }
    if (!this.current.up || /Connection|closed|ECONN|writeable|MaxRetries/i.test(message)) {
      return new StoreError(StoreErrorCode.UNAVAILABLE, `redis store unavailable: ${message}`, {
        retryable: true,
        cause: err,
      });
    }
    return new StoreError(StoreErrorCode.FAILED, `redis store: ${message}`, { cause: err });
  }

  /** A (re)connection: checks the deployment's generation, then admits operations. */
  private async onReady(): Promise<void> {
    const key = `${this.prefix}gen`;
    let lost = false;
    try {
      const fresh = randomBytes(9).toString('base64url');
      // Created by the first process to connect; gone when Redis lost its data.
      const set = await this.redis.set(key, fresh, 'NX');
      const now = set === 'OK' ? fresh : await this.redis.get(key);
      lost = this.generation !== undefined && now !== this.generation;
      this.generation = now ?? fresh;
    } catch (err) {
      this.setHealth({ up: false, cause: `redis: ${err instanceof Error ? err.message : err}` });
      return;
    }
    if (this.closed) return;
    this.connectedOnce = true;
    if (this.firstConnectTimer !== undefined) {
      clearTimeout(this.firstConnectTimer);
      this.firstConnectTimer = undefined;
    }
    this.setHealth({ up: true });
    const waiting = this.waiting;
    this.waiting = [];
    for (const w of waiting) w.run();
    if (lost) for (const listener of [...this.resetListeners]) listener();
  }

  private setHealth(next: StoreHealth): void {
    if (next.up === this.current.up && next.cause === this.current.cause) return;
    const wasUp = this.current.up;
    this.current = next;
    if (wasUp === next.up && !next.up) return;
    for (const listener of [...this.healthListeners]) listener({ ...next });
  }

  private sweepNow(): void {
    if (this.closed || !this.current.up) return;
    this.sweep().catch((err: unknown) => this.options.onError(this.storeError(err)));
  }

  private now(): number {
    return this.options.clock.now();
  }
}

function publicationOf(r: Reply[], time: number, data: string): Publication {
  const [offset, epoch, stored] = r;
  return Object.freeze({
    epoch: String(epoch),
    offset: Number(offset),
    time,
    data,
    frame: stored === null || stored === undefined ? null : String(stored),
  });
}

function bound(limit: number): number {
  return Number.isFinite(limit) ? limit : -1;
}

function occurrences(text: string, needle: string): number {
  let n = 0;
  for (let i = text.indexOf(needle); i !== -1; i = text.indexOf(needle, i + needle.length)) n++;
  return n;
}

function codeKey(code: (typeof SCRIPT_CODES)[number]): keyof typeof StoreErrorCode {
  return code as keyof typeof StoreErrorCode;
}
