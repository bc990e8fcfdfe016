import type { Clock, TimerHandle } from './clock.js';
import { systemClock } from './clock.js';

/**
 * One named, restartable timer. Starting it clears the previous schedule, so
 * a stale callback can never fire after a restart; `clear()` is the cancel path.
 */
export class Timer {
  private handle: TimerHandle | undefined;

  constructor(
    readonly name: string,
    private readonly clock: Clock = systemClock,
  ) {}

  /** (Re)schedules `fn` after `ms`, cancelling any pending run. */
  start(ms: number, fn: () => void): void {
    this.clear();
    this.handle = this.clock.setTimeout(() => {
      this.handle = undefined;
      fn();
    }, ms);
  }

  /** Cancels the pending run, if any. Safe to call at any time. */
  clear(): void {
    if (this.handle !== undefined) {
      this.clock.clearTimeout(this.handle);
      this.handle = undefined;
    }
  }

  get active(): boolean {
    return this.handle !== undefined;
  }
}

/**
 * A periodic task on one timer: the "one sweep serves all" pattern. The next
 * run is scheduled after the current one finishes, so runs never overlap.
 */
export class Sweep {
  private readonly timer: Timer;
  private running = false;

  constructor(
    name: string,
    private readonly intervalMs: number,
    private readonly task: () => void,
    clock: Clock = systemClock,
  ) {
    this.timer = new Timer(name, clock);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule();
  }

  stop(): void {
    this.running = false;
    this.timer.clear();
  }

  private schedule(): void {
    this.timer.start(this.intervalMs, () => {
      if (!this.running) return;
      try {
        this.task();
      } finally {
        if (this.running) this.schedule();
      }
    });
  }
}
