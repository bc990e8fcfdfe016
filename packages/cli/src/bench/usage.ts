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

/** Runs a full garbage collection when the process was started with `--expose-gc`. */
export function collectGarbage(): boolean {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (typeof gc !== 'function') return false;
  gc();
  gc();
  return true;
}
