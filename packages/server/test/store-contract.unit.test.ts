/**
 * The store contract (testkit's suite) against the memory store, the library's default:
 * the same assertions the SQLite and Redis stores pass in their own packages.
 */
import { runStoreContract } from '@tether/testkit';
import { MemoryStore } from '../src/store/index.js';

runStoreContract('memory', (options) => new MemoryStore({ sweepIntervalMs: 0, ...options }));
