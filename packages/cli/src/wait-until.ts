/**
 * Polling with a deadline for the proof tools (chaos audit, stability checks): they wait
 * for a state of real sockets that no single event announces.
 */
import { setTimeout as sleep } from 'node:timers/promises';

/** Resolves after `ms` milliseconds. */
export { sleep };

/**
 * Polls `check` every `intervalMs` (default 25 ms) until it returns (or resolves to) true
 * or `timeoutMs` has passed; resolves with whether it came true.
 */
export async function waitUntil(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  intervalMs = 25,
): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline) return false;
    await sleep(intervalMs);
  }
  return true;
}

/**
 * Waits for `attempts` until all settled or `timeoutMs` passed; resolves with how many
 * were fulfilled by then (a rejection counts as not confirmed).
 */
export async function fulfilledWithin(
  attempts: readonly Promise<unknown>[],
  timeoutMs: number,
): Promise<number> {
  let fulfilled = 0;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.all(
      attempts.map((attempt) =>
        attempt.then(
          () => {
            fulfilled += 1;
          },
          () => {},
        ),
      ),
    ),
    new Promise((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    }),
  ]);
  clearTimeout(timer);
  return fulfilled;
}
