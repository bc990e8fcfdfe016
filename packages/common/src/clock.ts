/**
 * Time as an injected dependency. Heartbeat, backoff and expiry logic take a
 * `Clock` so tests drive time by hand instead of sleeping.
 */

/** An opaque timer handle returned by {@link Clock.setTimeout}. */
export type TimerHandle = unknown;

export interface Clock {
  /** Wall-clock milliseconds since the epoch (`Date.now()` for the system clock). */
  now(): number;
  /** Monotonic milliseconds, never going backwards (`performance.now()` for the system clock). */
  monotonic(): number;
  /**
   * Schedules `fn` after `ms`. The system clock `unref()`s the timer where the
   * runtime supports it, so a library timer never keeps a process alive.
   */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

type Unrefable = { unref?: () => void };

/** The real clock. Its timers are unref'ed. */
export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  setTimeout(fn, ms) {
    const handle = globalThis.setTimeout(fn, ms) as unknown as Unrefable;
    handle.unref?.();
    return handle;
  },
  clearTimeout(handle) {
    globalThis.clearTimeout(handle as ReturnType<typeof globalThis.setTimeout>);
  },
};

interface ManualTimer {
  id: number;
  at: number;
  fn: () => void;
}

/**
 * A clock that moves only when told to. `advance(ms)` runs every timer that
 * falls due, in order, including timers scheduled by those timers.
 * `skewWallClock(ms)` moves the wall clock alone, as a suspended laptop or a
 * throttled background tab does, without firing timers.
 */
export class ManualClock implements Clock {
  private wall: number;
  private mono = 0;
  private nextId = 1;
  private timers: ManualTimer[] = [];

  constructor(startWallMs = 1_700_000_000_000) {
    this.wall = startWallMs;
  }

  now(): number {
    return this.wall;
  }

  monotonic(): number {
    return this.mono;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer = { id: this.nextId++, at: this.mono + Math.max(0, ms), fn };
    this.timers.push(timer);
    return timer.id;
  }

  clearTimeout(handle: TimerHandle): void {
    this.timers = this.timers.filter((t) => t.id !== handle);
  }

  /** Number of timers still pending. */
  get pending(): number {
    return this.timers.length;
  }

  /** Moves both clocks forward by `ms`, firing due timers in order. */
  advance(ms: number): void {
    const target = this.mono + ms;
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at || a.id - b.id);
      const next = this.timers[0];
      if (!next || next.at > target) break;
      this.timers.shift();
      this.wall += next.at - this.mono;
      this.mono = next.at;
      next.fn();
    }
    this.wall += target - this.mono;
    this.mono = target;
  }

  /** Moves only the wall clock; timers do not fire (a throttled or frozen tab). */
  skewWallClock(ms: number): void {
    this.wall += ms;
  }
}

/** Whether `value` has every method of a {@link Clock} (for option validation). */
export function isClock(value: unknown): value is Clock {
  if (typeof value !== 'object' || value === null) return false;
  const c = value as Record<string, unknown>;
  return (
    typeof c.now === 'function' &&
    typeof c.monotonic === 'function' &&
    typeof c.setTimeout === 'function' &&
    typeof c.clearTimeout === 'function'
  );
}
