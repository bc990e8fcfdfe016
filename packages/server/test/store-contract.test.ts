/** The store contract (testkit's suite) against the memory store. */
import { runStoreContract } from '@tether/testkit';
import { MemoryStore } from '../src/index.js';

runStoreContract('memory', (options) => new MemoryStore({ sweepIntervalMs: 0, ...options }));
