/**
 * Options of the Redis store: the shared store options (retention, clock, sweep) plus
 * where Redis is and how this process names itself in it. Defaults: `REDIS_STORE_DEFAULTS`.
 */
import { randomBytes } from 'node:crypto';
import { checkInt, OptionError } from '@tether/common';
import {
  type ResolvedStoreOptions,
  resolveStoreOptions,
  type StoreOptions,
  TopicBounds,
} from '@tether/server/store';
import type { RedisOptions } from 'ioredis';

/** Defaults of the Redis store. Change only with a reason written in docs/. */
export const REDIS_STORE_DEFAULTS = {
  /**
   * `tether:`: every key of the store starts with it, so one Redis can hold several
   * deployments (or share a database with other applications) without collisions.
   */
  prefix: 'tether:',
  /**
   * 10 s to reach Redis the first time; operations issued meanwhile wait (in order) and
   * fail with STORE_UNAVAILABLE past it. Under the heartbeat timeout's order of
   * magnitude: a hub that starts before its Redis does not refuse its first clients.
   */
  connectTimeoutMs: 10_000,
  /**
   * 2 s at most between reconnection attempts (doubling from 100 ms): Redis back after an
   * outage is noticed within 2 s, without hammering it while it restarts.
   */
  reconnectMaxMs: 2_000,
  /**
   * 30 s: each node renews its lease in Redis every third of it; a node that has not
   * renewed for this long is dead (SIGKILL, lost host), and the sessions it held are
   * released (marked disconnected) so they expire instead of staying "connected" forever.
   * Well above a GC pause or a slow event loop, so a live node is never declared dead.
   */
  nodeLeaseMs: 30_000,
  /**
   * 120 s (the server's default resume window): how long a released session of a dead
   * node stays resumable after its release. Its clients normally resumed elsewhere long
   * before (within a few seconds of the node's death); this only bounds the leftovers.
   */
  deadNodeWindowMs: 120_000,
} as const;

/** Options of {@link RedisStore}. */
export interface RedisStoreOptions extends StoreOptions {
  /**
   * `redis://[[user]:password@]host[:port][/db]` or `rediss://...` (TLS). Required.
   */
  url: string;
  /** Overrides the password of `url` (the hub passes `TETHER_REDIS_PASSWORD`). */
  password?: string;
  /** Prefix of every key (default `tether:`). Nodes of one deployment use the same one. */
  prefix?: string;
  /** This process's name in the store (default: random per store instance). */
  node?: string;
  /** How long operations wait for the first connection (ms, default 10 s). */
  connectTimeoutMs?: number;
  /** Longest pause between reconnection attempts (ms, default 2 s). */
  reconnectMaxMs?: number;
  /** Further ioredis options (TLS certificates, timeouts); the store sets its queueing ones. */
  redisOptions?: RedisOptions;
  /** After how long without a lease renewal a node counts as dead (ms, default 30 s). */
  nodeLeaseMs?: number;
  /** How long the sessions of a dead node stay resumable once released (ms, default 120 s). */
  deadNodeWindowMs?: number;
}

/** {@link RedisStoreOptions} with defaults applied. */
export interface ResolvedRedisOptions extends ResolvedStoreOptions {
  url: string;
  prefix: string;
  node: string;
  connectTimeoutMs: number;
  reconnectMaxMs: number;
  redisOptions: RedisOptions;
  bounds: TopicBounds;
  nodeLeaseMs: number;
  deadNodeWindowMs: number;
}

/** Validates the options, naming the one at fault (`store.url`, `store.prefix`, ...). */
export function resolveRedisOptions(options: RedisStoreOptions): ResolvedRedisOptions {
  if (typeof options !== 'object' || options === null) {
    throw new OptionError('store', 'expected the Redis store options ({ url, ... })');
  }
  const {
    url,
    password,
    prefix,
    node,
    connectTimeoutMs,
    reconnectMaxMs,
    redisOptions,
    nodeLeaseMs,
    deadNodeWindowMs,
    ...rest
  } = options;
  const base = resolveStoreOptions(rest, 'store', []);
  const checkedUrl = checkRedisUrl(url);
  const d = REDIS_STORE_DEFAULTS;
  const resolvedPrefix = prefix ?? d.prefix;
  if (typeof resolvedPrefix !== 'string') {
    throw new OptionError('store.prefix', 'expected a string');
  }
  const resolvedNode = node ?? randomBytes(6).toString('base64url');
  if (typeof resolvedNode !== 'string' || resolvedNode.length === 0) {
    throw new OptionError('store.node', 'expected a non-empty string');
  }
  if (password !== undefined && typeof password !== 'string') {
    throw new OptionError('store.password', 'expected a string');
  }
  if (redisOptions !== undefined && (typeof redisOptions !== 'object' || redisOptions === null)) {
    throw new OptionError('store.redisOptions', 'expected an object of ioredis options');
  }
  return {
    ...base,
    url: checkedUrl,
    prefix: resolvedPrefix,
    node: resolvedNode,
    connectTimeoutMs: checkInt(
      'store.connectTimeoutMs',
      connectTimeoutMs ?? d.connectTimeoutMs,
      1,
      2_147_483_647,
    ),
    reconnectMaxMs: checkInt('store.reconnectMaxMs', reconnectMaxMs ?? d.reconnectMaxMs, 1, 60_000),
    redisOptions: { ...redisOptions, ...(password !== undefined ? { password } : {}) },
    bounds: new TopicBounds(base),
    nodeLeaseMs: checkInt('store.nodeLeaseMs', nodeLeaseMs ?? d.nodeLeaseMs, 300, 3_600_000),
    deadNodeWindowMs: checkInt(
      'store.deadNodeWindowMs',
      deadNodeWindowMs ?? d.deadNodeWindowMs,
      0,
      2_147_483_647,
    ),
  };
}

/** Checks a `redis://` or `rediss://` URL; throws an OptionError naming `store.url`. */
export function checkRedisUrl(url: unknown): string {
  if (typeof url !== 'string' || url.length === 0) {
    throw new OptionError('store.url', 'expected redis://HOST:PORT[/DB] or rediss://...');
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new OptionError('store.url', `not a URL: ${JSON.stringify(url)}`);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new OptionError('store.url', `expected redis:// or rediss://, got ${parsed.protocol}//`);
  }
  if (parsed.hostname === '') throw new OptionError('store.url', 'the URL names no host');
  const db = parsed.pathname.replace(/^\//, '');
  if (db !== '' && !/^\d{1,2}$/.test(db)) {
    throw new OptionError('store.url', `the database must be a number, got ${JSON.stringify(db)}`);
  }
  return url;
}
