/**
 * The store contract (testkit's suite) against the Redis store: one real redis-server on
 * a free loopback port, one key prefix per store so the tests share nothing.
 */
import {
  type RedisInstance,
  runStoreContract,
  startRedis,
  systemDepMissing,
} from '@tether/testkit';
import { afterAll, beforeAll, describe } from 'vitest';
import { RedisStore } from '../src/index.js';

const missing = systemDepMissing('redis-server');
let redis: RedisInstance | undefined;
let storeNo = 0;

describe.skipIf(missing)('redis', () => {
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });
  runStoreContract('redis', (options) => {
    if (redis === undefined) throw new Error('redis-server is not running');
    return new RedisStore({
      url: redis.url,
      prefix: `contract-${++storeNo}:`,
      sweepIntervalMs: 0,
      ...options,
    });
  });
});
