import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { createStore, type Store, type StoreOptions } from '@tether/server';
import { RedisStore } from '@tether/store-redis';
import { SqliteStore } from '@tether/store-sqlite';
import { isSharedStore } from './config.js';
import type { HubConfig } from './config-types.js';
import { TopicAccess } from './topic-access.js';

/**
 * Opens the configured store; a SQLite file's directory is created when missing. A
 * namespace's `history` applies to its topics through the store's `historyFor`, matched
 * like the permissions (the most specific namespace wins); it is only set when some
 * namespace has one, so the store keeps its one-bound fast path otherwise.
 */
export function openStore(config: HubConfig): Store {
  const retention: StoreOptions = {
    historyMaxCount: config.history.maxCount,
    historyMaxAgeMs: config.history.maxAgeMs,
  };
  if (Object.values(config.topics).some((rule) => rule.history !== undefined)) {
    const namespaces = new TopicAccess(config.topics);
    retention.historyFor = (topic) => namespaces.ruleFor(topic)?.history;
  }
  if (config.store === 'memory') return createStore('memory', retention);
  if (isSharedStore(config.store)) {
    // `redis.password` (TETHER_REDIS_PASSWORD) keeps the password out of the command
    // line and the config file; one in the URL is used otherwise.
    const password = config.redis.password;
    return new RedisStore({
      url: config.store,
      ...(password !== undefined ? { password } : {}),
      ...retention,
    });
  }
  const path = resolve(config.store.slice('sqlite:'.length));
  // 0700: the store creates the file 0600; nobody else needs to list the directory.
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  return new SqliteStore({ ...retention, path });
}
