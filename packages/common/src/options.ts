import { type Clock, isClock, systemClock } from './clock.js';
import { OptionError } from './errors.js';

/** Validates an integer option in [min, max]; throws an `OptionError` naming it. */
export function checkInt(
  name: string,
  value: number,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `in [${min}, ${max}]`;
    throw new OptionError(name, `expected an integer ${range}, got ${String(value)}`);
  }
  return value;
}

/** Validates a finite number option in [min, max]; throws an `OptionError` naming it. */
export function checkNumber(
  name: string,
  value: number,
  min: number,
  max = Number.POSITIVE_INFINITY,
): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new OptionError(name, `expected a number in [${min}, ${max}], got ${String(value)}`);
  }
  return value;
}

/** Validates a boolean option. */
export function checkBool(name: string, value: boolean): boolean {
  if (typeof value !== 'boolean') {
    throw new OptionError(name, `expected a boolean, got ${typeof value}`);
  }
  return value;
}

/** Validates a function option. */
export function checkFn<T>(name: string, value: T): T {
  if (typeof value !== 'function') {
    throw new OptionError(name, `expected a function, got ${typeof value}`);
  }
  return value;
}

/** Throws an `OptionError` for keys of `given` not in `known` (catches typos). */
export function checkKnownKeys(what: string, given: object, known: readonly string[]): void {
  for (const key of Object.keys(given)) {
    if (!known.includes(key)) {
      throw new OptionError(`${what}.${key}`, `unknown option (known: ${known.join(', ')})`);
    }
  }
}

/** Validates a `clock` option, the system clock when absent; throws an `OptionError` naming it. */
export function checkClock(name: string, value: Clock | undefined): Clock {
  const clock = value ?? systemClock;
  if (!isClock(clock)) {
    throw new OptionError(name, 'expected a Clock (now, monotonic, setTimeout, clearTimeout)');
  }
  return clock;
}
