import { Timer } from '@tether/common';
import { waitFor } from '@tether/testkit';

/** What the scheduler cuts: a fault proxy in front of one client (one connection at a time). */
export interface Cuttable {
  readonly connections: number;
  resetAll(): number;
}

/** Options of {@link CutScheduler}. */
export interface CutSchedulerOptions {
  /** Smallest pause between two cuts, ms. */
  minDelayMs: number;
  /** Largest pause between two cuts, ms. */
  maxDelayMs: number;
  /** Random source in [0, 1); default `Math.random`. */
  random?: () => number;
}

/**
 * Cuts single connections at random intervals: each firing picks one target at random
 * among those with an open connection and resets it (TCP RST both ways). Only cuts that
 * hit a live connection count, so `cuts` is the number of connections really killed.
 * Producers can pace themselves on {@link CutScheduler.waitForCuts} so that the cuts are
 * spread over the whole stream whatever the machine's speed.
 */
export class CutScheduler {
  /** Connections cut so far. */
  cuts = 0;
  /** Cuts per target index. */
  readonly perTarget: number[];
  private readonly timer = new Timer('audit.cut-scheduler');
  private readonly random: () => number;
  private running = false;

  constructor(
    private readonly targets: readonly Cuttable[],
    private readonly options: CutSchedulerOptions,
  ) {
    if (!(options.minDelayMs >= 0 && options.maxDelayMs >= options.minDelayMs)) {
      throw new RangeError('CutScheduler: expected 0 <= minDelayMs <= maxDelayMs');
    }
    this.random = options.random ?? Math.random;
    this.perTarget = targets.map(() => 0);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.arm();
  }

  stop(): void {
    this.running = false;
    this.timer.clear();
  }

  /** Cuts one random live connection now; returns the target index, or -1 when none was open. */
  cutOne(): number {
    const live: number[] = [];
    for (let i = 0; i < this.targets.length; i += 1) {
      if ((this.targets[i] as Cuttable).connections > 0) live.push(i);
    }
    if (live.length === 0) return -1;
    const index = live[Math.floor(this.random() * live.length)] as number;
    if ((this.targets[index] as Cuttable).resetAll() === 0) return -1;
    this.cuts += 1;
    this.perTarget[index] = (this.perTarget[index] ?? 0) + 1;
    return index;
  }

  /** Resolves once `count` cuts happened in all (with a deadline). */
  async waitForCuts(count: number, timeoutMs = 30_000): Promise<void> {
    if (this.cuts >= count) return;
    await waitFor(() => this.cuts >= count, {
      timeoutMs,
      intervalMs: 2,
      message: `${count} cuts (have ${this.cuts})`,
    });
  }

  private arm(): void {
    const { minDelayMs, maxDelayMs } = this.options;
    const delay = minDelayMs + this.random() * (maxDelayMs - minDelayMs);
    this.timer.start(delay, () => {
      if (!this.running) return;
      this.cutOne();
      this.arm();
    });
  }
}
