import { monitorEventLoopDelay } from 'node:perf_hooks';

/**
 * CPU and memory of one process, sampled so the bench can report CPU use over an interval
 * (as a share of one core) and memory per connection (as a difference of two samples).
 */

/** A snapshot of a process's resource use. */
export interface ProcessUsage {
  /** `performance.now()` of the process that took it (ms); only differences matter. */
  atMs: number;
  /** User + system CPU time so far, ms. */
  cpuMs: number;
  rssBytes: number;
  heapUsedBytes: number;
}

/** Takes a snapshot of this process. */
export function processUsage(): ProcessUsage {
  const cpu = process.cpuUsage();
  const memory = process.memoryUsage();
  return {
    atMs: performance.now(),
    cpuMs: (cpu.user + cpu.system) / 1000,
    rssBytes: memory.rss,
    heapUsedBytes: memory.heapUsed,
  };
}

/** CPU used between two snapshots as a percentage of one core (200 = two cores busy). */
export function cpuPercent(from: ProcessUsage, to: ProcessUsage): number {
  const wall = to.atMs - from.atMs;
  return wall <= 0 ? 0 : Math.round(((to.cpuMs - from.cpuMs) / wall) * 1000) / 10;
}

/**
 * CPU time (ms) several processes used between two snapshots of each, taken in the same
 * order (a pool's `usage()`: one per load process).
 */
export function cpuSpentMs(from: readonly ProcessUsage[], to: readonly ProcessUsage[]): number {
  return to.reduce((spent, usage, i) => spent + usage.cpuMs - (from[i]?.cpuMs ?? 0), 0);
}

/** Runs a full garbage collection when the process was started with `--expose-gc`. */
export function collectGarbage(): boolean {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (typeof gc !== 'function') return false;
  gc();
  gc();
  return true;
}

/** Event-loop delay over an interval, in ms (Node's `monitorEventLoopDelay`, 10 ms resolution). */
export interface LoopDelay {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/**
 * Watches this process's event-loop delay; {@link take} returns the percentiles since the
 * last take and starts a new interval. One per process; `stop` ends it.
 */
export class LoopDelayMonitor {
  private readonly histogram = monitorEventLoopDelay({ resolution: 10 });

  constructor() {
    this.histogram.enable();
  }

  take(): LoopDelay {
    const h = this.histogram;
    // The histogram is in ns and includes the 10 ms sampling resolution.
    const ms = (ns: number): number => Math.round(Math.max(0, ns / 1e6 - 10) * 10) / 10;
    const result =
      h.count === 0
        ? { p50Ms: 0, p99Ms: 0, maxMs: 0 }
        : { p50Ms: ms(h.percentile(50)), p99Ms: ms(h.percentile(99)), maxMs: ms(h.max) };
    h.reset();
    return result;
  }

  stop(): void {
    this.histogram.disable();
  }
}
