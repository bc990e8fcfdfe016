/**
 * `@tether/store-redis`: the cluster store of Tether. Sessions, session logs and topic
 * histories in Redis (logs as Streams), shared by every node of a deployment so a client
 * resumes on any node, and live fan-out of publications between the nodes.
 *
 * ```ts
 * import { TetherServer } from '@tether/server';
 * import { RedisStore } from '@tether/store-redis';
 * const server = new TetherServer({ store: new RedisStore({ url: 'redis://127.0.0.1:6379' }) });
 * ```
 */
export { parseBrokerMessage } from './broker.js';
export {
  checkRedisUrl,
  REDIS_STORE_DEFAULTS,
  type RedisStoreOptions,
} from './options.js';
export { RedisStore } from './redis-store.js';
