/**
 * The Redis store's command connection and its health: the scripts defined on it,
 * operations held until the first connection and refused at once while Redis is
 * unreachable, failures as StoreErrors, and the deployment's generation checked on every
 * (re)connection so a Redis that came back empty is noticed.
 */
import { randomBytes } from 'node:crypto';
import { StoreError, StoreErrorCode, type StoreHealth } from '@tether/server/store';
import { Redis, type RedisOptions } from 'ioredis';
import { endConnection } from './broker.js';
import type { ResolvedRedisOptions } from './options.js';
import { type Reply, SCRIPT_CODES } from './replies.js';
import * as S from './scripts-sessions.js';
import * as T from './scripts-topics.js';

const SCRIPTS = {
  createSession: S.CREATE_SESSION,
  getSession: S.GET_SESSION,
  updateSession: S.UPDATE_SESSION,
  deleteSession: S.DELETE_SESSION,
  sessionsOfUser: S.SESSIONS_OF_USER,
  releaseSessions: S.RELEASE_SESSIONS,
  appendSession: S.APPEND_SESSION,
  detachSession: S.DETACH_SESSION,
  nodeLease: S.NODE_LEASE,
  sessionAfter: S.SESSION_AFTER,
  trimSession: S.TRIM_SESSION,
  appendPublication: T.APPEND_PUBLICATION,
  publicationsAfter: T.PUBLICATIONS_AFTER,
  lastPublications: T.LAST_PUBLICATIONS,
  topicHead: T.TOPIC_HEAD,
  sweep: T.SWEEP,
  stats: T.STATS,
} as const;

/** The commands the scripts define on the connection. */
export type ScriptName = keyof typeof SCRIPTS;

/** The connection with one method per script. */
export type ScriptClient = Redis &
  Record<ScriptName, (...args: (string | number)[]) => Promise<Reply>>;

/** Counts of the operations run through {@link RedisConnection.op}. */
export interface OperationCounts {
  operations: number;
  failedOperations: number;
  pending: number;
}

export class RedisConnection {
  readonly client: ScriptClient;
  /** The ioredis options of the command connection (the broker's connection uses them too). */
  readonly redisOptions: RedisOptions;
  private readonly healthListeners = new Set<(health: StoreHealth) => void>();
  private readonly resetListeners = new Set<() => void>();
  /** Operations waiting for the first connection, in call order. */
  private waiting: Array<{ run: () => void; fail: (err: StoreError) => void }> = [];
  private connectedOnce = false;
  private current: StoreHealth = { up: false, cause: 'connecting' };
  private generation: string | undefined;
  private firstConnectTimer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;
  private readonly counts: OperationCounts = { operations: 0, failedOperations: 0, pending: 0 };

  constructor(private readonly options: ResolvedRedisOptions) {
    this.redisOptions = {
      ...options.redisOptions,
      // Never queue what cannot be stored now: while Redis is unreachable an operation
      // fails at once (STORE_UNAVAILABLE), so nothing is accepted that is not stored.
      enableOfflineQueue: false,
      // A command in flight when the connection drops fails; it is never sent again on
      // the next connection (it may have run: a resent append would run twice).
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      lazyConnect: false,
      retryStrategy: (attempt: number) =>
        Math.min(options.reconnectMaxMs, 50 * 2 ** Math.min(attempt, 10)),
    };
    this.client = new Redis(options.url, this.redisOptions) as ScriptClient;
    for (const [name, lua] of Object.entries(SCRIPTS)) {
      this.client.defineCommand(name, { numberOfKeys: 0, lua });
    }
    this.client.on('ready', () => void this.onReady());
    this.client.on('error', (err: Error) => {
      if (this.current.up) return;
      this.setHealth({ up: false, cause: `redis: ${err.message}` });
    });
    this.client.on('close', () => {
      if (!this.closed) this.setHealth({ up: false, cause: 'redis: connection closed' });
    });
    this.firstConnectTimer = setTimeout(() => {
      this.firstConnectTimer = undefined;
      const waiting = this.waiting;
      this.waiting = [];
      for (const w of waiting) w.fail(this.unavailable());
    }, options.connectTimeoutMs);
    this.firstConnectTimer.unref?.();
  }

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

  /** Operations run so far; `pending` counts the ones in flight. */
  operationCounts(): OperationCounts {
    return { ...this.counts };
  }

  /**
   * Runs one store operation: refused after close, held until the first connection,
   * refused at once while Redis is unreachable, counted, failures as StoreErrors.
   */
  op<T>(fn: () => Promise<T>): Promise<T> {
    const counts = this.counts;
    if (this.closed) {
      counts.failedOperations++;
      return Promise.reject(new StoreError(StoreErrorCode.CLOSED, 'store is closed'));
    }
    return new Promise<T>((resolve, reject) => {
      const run = (): void => {
        counts.pending++;
        let started: Promise<T>;
        try {
          if (!this.current.up && this.connectedOnce) throw this.unavailable();
          started = fn();
        } catch (err) {
          started = Promise.reject(err);
        }
        started.then(
          (value) => {
            counts.pending--;
            counts.operations++;
            resolve(value);
          },
          (err: unknown) => {
            counts.pending--;
            counts.failedOperations++;
            reject(this.storeError(err));
          },
        );
      };
      if (this.connectedOnce || this.current.up) run();
      else
        this.waiting.push({
          run,
          fail: (err) => {
            counts.failedOperations++;
            reject(err);
          },
        });
    });
  }

  /** Fails what waits for the first connection, then ends the connection. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.firstConnectTimer !== undefined) clearTimeout(this.firstConnectTimer);
    const waiting = this.waiting;
    this.waiting = [];
    for (const w of waiting) w.fail(new StoreError(StoreErrorCode.CLOSED, 'store is closed'));
    await endConnection(this.client);
  }

  /** Any failure as a StoreError: script codes kept, connection trouble as UNAVAILABLE. */
  storeError(err: unknown): StoreError {
    if (err instanceof StoreError) return err;
    const message = err instanceof Error ? err.message : String(err);
    for (const code of SCRIPT_CODES) {
      if (message.startsWith(`${code} `)) {
        return new StoreError(StoreErrorCode[code], message.slice(code.length + 1));
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

  private unavailable(): StoreError {
    return new StoreError(
      StoreErrorCode.UNAVAILABLE,
      `redis store unavailable (${this.current.cause ?? 'not connected'})`,
      { retryable: true },
    );
  }

  /** A (re)connection: checks the deployment's generation, then admits operations. */
  private async onReady(): Promise<void> {
    const key = `${this.options.prefix}gen`;
    let lost = false;
    try {
      const fresh = randomBytes(9).toString('base64url');
      // Created by the first process to connect; gone when Redis lost its data.
      const set = await this.client.set(key, fresh, 'NX');
      const now = set === 'OK' ? fresh : await this.client.get(key);
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
}
