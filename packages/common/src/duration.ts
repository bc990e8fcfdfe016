const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** The text form of a duration: a number with an optional unit (`500ms`, `25s`, `1.5m`, `2h`). */
export const DURATION_PATTERN = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/;

/**
 * Parses a duration: a number of milliseconds, or a string such as `500ms`,
 * `25s`, `2m`, `1h`, `1.5s`. Throws a `RangeError` naming `what` on bad input.
 */
export function parseDuration(value: string | number, what = 'duration'): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) {
      throw new RangeError(`${what}: expected a non-negative duration, got ${value}`);
    }
    return value;
  }
  const match = DURATION_PATTERN.exec(value);
  if (!match) {
    throw new RangeError(`${what}: cannot parse duration "${value}" (use e.g. 500ms, 25s, 2m)`);
  }
  const amount = Number(match[1]);
  const unit = match[2] ?? 'ms';
  return Math.round(amount * (UNITS[unit] ?? 1));
}

/** Formats milliseconds for humans: `850ms`, `25s`, `2m 5s`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${+(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)}s`;
  const m = Math.floor(ms / 60_000);
  const s = Math.round((ms % 60_000) / 1000);
  return s ? `${m}m ${s}s` : `${m}m`;
}
