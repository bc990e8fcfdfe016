import { Timer } from '@tether/common';
import type { FaultProxy } from '@tether/fault-proxy';
import type { FaultPlan } from './args.js';

/**
 * Drives a {@link FaultPlan} over a set of fault proxies (`createFaultProxy` of @tether/fault-proxy):
 * latency, jitter and bandwidth on all of them; resets and stalls of one proxy picked at
 * random, at random intervals around the mean; cuts of all of them at once. With one
 * proxy per client (the audit), "one proxy" is one client's link; with a single proxy
 * (`chaos proxy`), it is every connection through it.
 */

/** One stall: which proxy, and when (wall-clock ms) it started and ended. */
export interface StallRecord {
  proxy: number;
  startedAt: number;
  endedAt: number | undefined;
}

/** What the driver did. */
export interface FaultLog {
  /** Resets of one proxy, and the connection pairs they cut. */
  resets: number;
  resetPairs: number;
  /** Cuts of every proxy at once, and the connection pairs they cut. */
  cuts: number;
  cutPairs: number;
  stalls: StallRecord[];
}

/** A seeded PRNG (mulberry32), so a run's faults can be replayed with `--seed`. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export class FaultDriver {
  readonly log: FaultLog = { resets: 0, resetPairs: 0, cuts: 0, cutPairs: 0, stalls: [] };
  private readonly resetTimer = new Timer('tether.chaos.reset');
  private readonly stallTimer = new Timer('tether.chaos.stall');
  private readonly cutTimer = new Timer('tether.chaos.cut');
  private readonly unstallTimers = new Map<number, Timer>();
  private running = false;

  constructor(
    private readonly proxies: readonly FaultProxy[],
    private readonly plan: FaultPlan,
    private readonly random: () => number = Math.random,
    /** Told when a stall starts (the audit measures how long detection takes). */
    private readonly onStall: (stall: StallRecord) => void = () => {},
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    const { plan } = this;
    for (const proxy of this.proxies) {
      if (plan.latencyMs > 0 || plan.jitterMs > 0) proxy.setLatency(plan.latencyMs, plan.jitterMs);
      if (plan.bandwidth !== undefined) proxy.setBandwidth(plan.bandwidth);
    }
    this.arm(this.resetTimer, plan.resetEveryMs, () => this.resetOne());
    this.arm(this.stallTimer, plan.stallEveryMs, () => this.stallOne());
    if (plan.cutEveryMs !== undefined) {
      const every = plan.cutEveryMs;
      const cut = (): void => {
        this.log.cuts += 1;
        // A stalled link is left alone: a cut would end the stall before anyone could
        // detect it, and detection of half-open links is what a stall measures.
        this.proxies.forEach((proxy, i) => {
          if (!this.unstallTimers.has(i)) this.log.cutPairs += proxy.resetAll();
        });
        this.cutTimer.start(every, cut);
      };
      this.cutTimer.start(every, cut);
    }
  }

  /** Stops every fault: timers cleared, stalls resumed, latency and bandwidth off. */
  stop(): void {
    this.running = false;
    for (const timer of [this.resetTimer, this.stallTimer, this.cutTimer]) timer.clear();
    for (const [index, timer] of this.unstallTimers) {
      timer.clear();
      this.unstall(index);
    }
    this.unstallTimers.clear();
    for (const proxy of this.proxies) {
      proxy.setLatency(0);
      proxy.setBandwidth(null);
    }
  }

  /** Stalls in progress. */
  get stalled(): number {
    return this.unstallTimers.size;
  }

  /** Re-arms `timer` at a random point around `meanMs` (0.5x to 1.5x). */
  private arm(timer: Timer, meanMs: number | undefined, fn: () => void): void {
    if (meanMs === undefined || !this.running) return;
    timer.start(meanMs * (0.5 + this.random()), () => {
      if (!this.running) return;
      fn();
      this.arm(timer, meanMs, fn);
    });
  }

  private pick(): number | undefined {
    const free = this.proxies.map((_, i) => i).filter((i) => !this.unstallTimers.has(i));
    if (free.length === 0) return undefined;
    return free[Math.floor(this.random() * free.length)];
  }

  private resetOne(): void {
    const index = this.pick();
    if (index === undefined) return;
    this.log.resets += 1;
    this.log.resetPairs += (this.proxies[index] as FaultProxy).resetAll();
  }

  private stallOne(): void {
    const index = this.pick();
    if (index === undefined) return;
    const proxy = this.proxies[index] as FaultProxy;
    // A stall of a proxy with no connection stalls nothing: count only real ones.
    if (proxy.connections === 0) return;
    proxy.pause();
    const stall: StallRecord = { proxy: index, startedAt: Date.now(), endedAt: undefined };
    this.log.stalls.push(stall);
    this.onStall(stall);
    const timer = new Timer('tether.chaos.unstall');
    this.unstallTimers.set(index, timer);
    timer.start(this.plan.stallForMs, () => {
      this.unstallTimers.delete(index);
      this.unstall(index);
    });
  }

  private unstall(index: number): void {
    const proxy = this.proxies[index] as FaultProxy;
    // Held bytes go through now: to sockets both ends have given up on when the stall
    // outlasted detection, or late but in order when it was shorter (a brief freeze).
    proxy.resume();
    for (const stall of this.log.stalls) {
      if (stall.proxy === index && stall.endedAt === undefined) stall.endedAt = Date.now();
    }
  }
}
