import { type Clock, Timer } from '@tether/common';
import type { Flushable, FlushScheduler } from './flush-scheduler.js';

/**
 * Delays acks so that several share one frame: a connection with an ack to send marks
 * itself, and ONE timer per endpoint (not one per connection) writes the marked ones
 * `delayMs` later. A connection that writes anything before then sends its ack with it,
 * and the later pass finds nothing to do.
 */
export class AckScheduler {
  private marked = new Set<Flushable>();
  private readonly timer: Timer;

  constructor(
    private readonly delayMs: number,
    private readonly flusher: FlushScheduler,
    clock: Clock,
  ) {
    this.timer = new Timer('tether.acks', clock);
  }

  mark(item: Flushable): void {
    if (this.delayMs === 0) {
      this.flusher.mark(item);
      return;
    }
    this.marked.add(item);
    if (!this.timer.active) this.timer.start(this.delayMs, this.run);
  }

  /** A closing connection writes at once and needs no later pass. */
  forget(item: Flushable): void {
    this.marked.delete(item);
    if (this.marked.size === 0) this.timer.clear();
  }

  /** Stops the timer (endpoint disposed). */
  stop(): void {
    this.timer.clear();
    this.marked.clear();
  }

  private readonly run = (): void => {
    const items = this.marked;
    this.marked = new Set();
    for (const item of items) this.flusher.mark(item);
  };
}
