/**
 * Polling with a deadline for the proof tools (chaos audit, stability checks): they wait
 * for a state of real sockets that no single event announces.
 */
import { setTimeout as sleep } from 'node:timers/promises';

/** Resolves after `ms` milliseconds. */
export { sleep };

/**
 * Polls `check` every `intervalMs` (default 25 ms) until it returns true or `timeoutMs`
 * has passed; resolves with whether it came true.
 */
export async function waitUntil(
  check: () => boolean,
  timeoutMs: number,
  intervalMs = 25,
): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) return false;
    await sleep(intervalMs);
  }
  return true;
}
