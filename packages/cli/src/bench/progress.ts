import { Timer } from '@tether/common';

/**
 * A progress bar on stderr, drawn only when stderr is a terminal (never in pipes, CI
 * logs or `--json` output captured by a script). A phase has a label and an expected
 * duration; the bar follows the clock, capped at 99 % until the phase ends.
 */

/** Where the bar is drawn: a TTY stream, or nothing. */
export interface ProgressSink {
  isTTY?: boolean;
  columns?: number;
  write(text: string): unknown;
}

const WIDTH = 24;
const REDRAW_MS = 200;

export class Progress {
  private readonly timer = new Timer('tether.bench.progress');
  private label = '';
  private startedAt = 0;
  private expectedMs = 0;
  private drawn = false;

  constructor(private readonly sink: ProgressSink | undefined) {}

  /** A bar that draws nothing. */
  static silent(): Progress {
    return new Progress(undefined);
  }

  /** The bar for `process.stderr`, active only when it is a TTY. */
  static forStderr(): Progress {
    return new Progress(process.stderr.isTTY ? process.stderr : undefined);
  }

  get active(): boolean {
    return this.sink?.isTTY === true;
  }

  /** Starts a phase expected to take about `expectedMs`. */
  phase(label: string, expectedMs: number): void {
    this.label = label;
    this.startedAt = performance.now();
    this.expectedMs = Math.max(1, expectedMs);
    if (!this.active) return;
    this.draw();
    this.timer.start(REDRAW_MS, () => this.tick());
  }

  private tick(): void {
    this.draw();
    this.timer.start(REDRAW_MS, () => this.tick());
  }

  private draw(): void {
    const sink = this.sink;
    if (sink === undefined) return;
    const fraction = Math.min(0.99, (performance.now() - this.startedAt) / this.expectedMs);
    const filled = Math.round(fraction * WIDTH);
    const bar = `[${'#'.repeat(filled)}${'-'.repeat(WIDTH - filled)}] ${String(Math.round(fraction * 100)).padStart(2)}% ${this.label}`;
    const max = (sink.columns ?? 80) - 1;
    sink.write(`\r${bar.slice(0, max).padEnd(max)}`);
    this.drawn = true;
  }

  /** Removes the bar (before printing results). */
  clear(): void {
    this.timer.clear();
    if (this.drawn && this.sink !== undefined) {
      this.sink.write(`\r${' '.repeat((this.sink.columns ?? 80) - 1)}\r`);
      this.drawn = false;
    }
  }
}
