/** Percentiles of a set of RTTs, in ms; `null` when there were no measurements. */
export interface RttPercentiles {
  p50: number | null;
  p90: number | null;
  p99: number | null;
  max: number | null;
  /** Measurements the percentiles are computed from. */
  count: number;
}

/** Percentiles of `values` (nearest rank). Sorts `values` in place. */
export function percentiles(values: number[]): RttPercentiles {
  if (values.length === 0) return { p50: null, p90: null, p99: null, max: null, count: 0 };
  values.sort((a, b) => a - b);
  const at = (q: number): number => {
    const rank = Math.max(1, Math.ceil(q * values.length));
    return round(values[rank - 1] as number);
  };
  return {
    p50: at(0.5),
    p90: at(0.9),
    p99: at(0.99),
    max: round(values[values.length - 1] as number),
    count: values.length,
  };
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

/**
 * RTT measurements of the last `slots` sample intervals: one bucket per interval, the
 * oldest dropped as a new one starts, so memory is bounded by `slots * perSlot`. Past
 * `perSlot` measurements in one interval a uniform random subset is kept (reservoir
 * sampling), which leaves the percentiles unbiased.
 */
export class RttWindow {
  private readonly buckets: number[][] = [[]];
  private seenInSlot = 0;

  constructor(
    private readonly slots: number,
    private readonly perSlot: number,
    private readonly random: () => number = Math.random,
  ) {}

  add(rttMs: number): void {
    const current = this.buckets[this.buckets.length - 1] as number[];
    this.seenInSlot += 1;
    if (current.length < this.perSlot) {
      current.push(rttMs);
      return;
    }
    const index = Math.floor(this.random() * this.seenInSlot);
    if (index < this.perSlot) current[index] = rttMs;
  }

  /** Starts the next interval. */
  rotate(): void {
    this.buckets.push([]);
    this.seenInSlot = 0;
    while (this.buckets.length > this.slots) this.buckets.shift();
  }

  percentiles(): RttPercentiles {
    return percentiles(this.buckets.flat());
  }
}
