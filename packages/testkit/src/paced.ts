/**
 * Load spread over time, for tests whose subject is time itself (a stream that must span
 * token expiries, probes at a steady rate while a fuzz runs): one interval timer drives
 * the steps. To wait for a condition use `waitFor` or an event, never a pause.
 */

/** Options of {@link paced}. */
export interface PacedOptions {
  /** One step per tick of this interval. */
  intervalMs: number;
  /** The most steps it runs (the bound of the loop). */
  maxSteps: number;
  /** Stops before the next step once this returns true. */
  until?: () => boolean;
}

/**
 * Runs `step` at once, then once per tick of one interval timer, never two at once (a
 * step that outlasts a tick runs the next one on the following tick, missed ticks are not
 * made up), until `maxSteps` steps ran or `until()` is true. Resolves with the number of
 * steps run; a step that throws stops it with that error. The timer is always cleared.
 */
export async function paced(
  options: PacedOptions,
  step: (n: number) => void | Promise<void>,
): Promise<number> {
  const done = (n: number): boolean => n >= options.maxSteps || options.until?.() === true;
  let ticked = false;
  let wake: (() => void) | undefined;
  const timer = setInterval(() => {
    ticked = true;
    wake?.();
  }, options.intervalMs);
  try {
    let n = 0;
    while (!done(n)) {
      n += 1;
      await step(n);
      if (done(n)) break;
      if (!ticked) {
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = undefined;
      }
      ticked = false;
    }
    return n;
  } finally {
    clearInterval(timer);
  }
}
