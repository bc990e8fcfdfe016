import { setTimeout as sleep } from 'node:timers/promises';
import type { BenchHub } from './hub.js';

/**
 * Publishes numbered messages (1, 2, 3, ...) to one topic at a steady rate, one at a
 * time, so that subscribers can audit them for gaps, duplicates and reordering. A
 * restart pauses it ({@link pause} waits for the publish in flight: its number must not
 * be reused) and {@link resume}s it. `onTick` runs once per interval, paused or not (the
 * stability check sends from its clients there).
 */
export class NumberedPublisher {
  private inFlight: Promise<unknown> = Promise.resolve();
  private last = 0;
  private refused = 0;
  private paused = false;
  private running = false;
  private loop: Promise<void> = Promise.resolve();

  constructor(
    private readonly hub: BenchHub,
    private readonly topic: string,
    private readonly intervalMs: number,
    private readonly onTick: (tick: number) => void = () => {},
  ) {}

  /** The highest number published (every one before it was published too). */
  get published(): number {
    return this.last;
  }

  /** Publishes the server refused (none expected: restarts pause the publisher). */
  get failed(): number {
    return this.refused;
  }

  start(): void {
    this.running = true;
    this.loop = (async () => {
      for (let tick = 0; this.running; tick += 1) {
        if (!this.paused) {
          const n = this.last + 1;
          this.inFlight = this.hub.publish({
            topic: this.topic,
            count: 1,
            payloadBytes: 16,
            first: n,
          });
          const ok = await this.inFlight.then(
            () => true,
            () => false,
          );
          if (ok) this.last = n;
          else this.refused += 1;
        }
        this.onTick(tick);
        await sleep(this.intervalMs);
      }
    })();
  }

  /** Stops publishing once the publish in flight has settled. */
  async pause(): Promise<void> {
    this.paused = true;
    await this.inFlight.catch(() => {});
  }

  resume(): void {
    this.paused = false;
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }
}
