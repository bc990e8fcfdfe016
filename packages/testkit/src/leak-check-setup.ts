/**
 * Setup file of every vitest tier (vitest.config.ts): fails a test file that leaves a
 * socket, server, timer, child process or `process` listener behind (see leak-check.ts).
 * In the forks pool each test file runs in a fresh process, so the snapshot taken when this
 * file loads is the state before the test file; the `afterAll` registered here runs after
 * the test file's own `afterAll` hooks (hooks run as a stack), when all should be closed.
 *
 * `TETHER_LEAK_CHECK=0` turns the check off for one run, to look at a failure without it;
 * CI never sets it.
 */
import { afterAll } from 'vitest';
import { assertNoLeaks, takeLeakSnapshot, trackIntervals } from './leak-check.js';

if (process.env.TETHER_LEAK_CHECK !== '0') {
  trackIntervals();
  const before = takeLeakSnapshot();
  afterAll(async () => {
    await assertNoLeaks(before);
  });
}
