/**
 * The Store contract: one suite of assertions that every store passes (the memory store
 * in @tether/server's tests, the SQLite store in @tether/store-sqlite's, any later store
 * the same way). Call {@link runStoreContract} at the top level of a test file.
 */

import type { Store, StoreOptions } from '@tether/server/store';
import { afterAll, afterEach, beforeAll, describe } from 'vitest';
import { historyBoundsContract } from './store-contract-bounds.js';
import { pagingContract } from './store-contract-paging.js';
import { sessionContract } from './store-contract-sessions.js';
import { topicContract } from './store-contract-topics.js';
import { type TempDir, tempDir } from './temp.js';

export type { MakeStore } from './store-contract-helpers.js';

/**
 * Builds a store for the contract: `options` come from the test (retention, clock);
 * `dir` is a fresh temp directory for this suite, for stores that keep files.
 */
export type StoreFactory = (options: StoreOptions, dir: string) => Store;

/**
 * Registers the store contract suite (`NAME store contract`) for the stores `factory`
 * builds. Every store is closed after its test; the temp dir is removed at the end.
 */
export function runStoreContract(name: string, factory: StoreFactory): void {
  let tmp: TempDir | undefined;
  const open: Store[] = [];
  beforeAll(async () => {
    tmp = await tempDir('tether-store-contract-');
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((s) => s.close()));
  });
  afterAll(async () => {
    await tmp?.cleanup();
  });
  describe(`${name} store contract`, () => {
    const make = (options: StoreOptions = {}): Store => {
      if (tmp === undefined) throw new Error('runStoreContract: the temp dir is not ready');
      const store = factory(options, tmp.path);
      open.push(store);
      return store;
    };
    sessionContract(make);
    topicContract(make);
    historyBoundsContract(make);
    pagingContract(make);
  });
}
