import {
  build,
  decodeFromCompressedBase64,
  encodeIntoCompressedBase64,
  type Histogram,
} from 'hdr-histogram-js';

/**
 * Latency recording with an HDR histogram (microsecond resolution, 3 significant digits,
 * up to 60 s), so percentiles are exact to 0.1 % whatever the sample count, and
 * histograms from several worker processes merge without loss.
 */

/** Latency percentiles in milliseconds. */
export interface LatencySummary {
  count: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  meanMs: number;
}

const HIGHEST_US = 60_000_000;

export class LatencyRecorder {
  private readonly histogram: Histogram;

  constructor() {
    this.histogram = build({
      lowestDiscernibleValue: 1,
      highestTrackableValue: HIGHEST_US,
      numberOfSignificantValueDigits: 3,
    });
  }

  /** Records one latency in milliseconds (fractions kept to the microsecond). */
  recordMs(ms: number): void {
    this.histogram.recordValue(Math.min(HIGHEST_US, Math.max(1, Math.round(ms * 1000))));
  }

  get count(): number {
    return this.histogram.totalCount;
  }

  /** The histogram in HDR's compressed base64 form, to send between processes. */
  encode(): string {
    return encodeIntoCompressedBase64(this.histogram);
  }

  /** Adds a histogram from {@link encode}. */
  merge(encoded: string): void {
    const other = decodeFromCompressedBase64(encoded);
    this.histogram.add(other);
    other.destroy();
  }

  summary(): LatencySummary {
    const h = this.histogram;
    const ms = (us: number): number => Math.round(us) / 1000;
    return {
      count: h.totalCount,
      p50Ms: ms(h.getValueAtPercentile(50)),
      p90Ms: ms(h.getValueAtPercentile(90)),
      p99Ms: ms(h.getValueAtPercentile(99)),
      maxMs: ms(h.maxValue),
      meanMs: ms(h.mean),
    };
  }
}
