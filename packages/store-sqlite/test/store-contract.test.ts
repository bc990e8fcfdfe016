/** The store contract (testkit's suite) against the SQLite store: a real file per test. */
import { join } from 'node:path';
import { runStoreContract } from '@tether/testkit';
import { SqliteStore } from '../src/index.js';

let fileNo = 0;
runStoreContract(
  'sqlite',
  (options, dir) =>
    new SqliteStore({ path: join(dir, `contract-${++fileNo}.db`), sweepIntervalMs: 0, ...options }),
);
