import { parseArgs } from 'node:util';
import { parseDuration, TetherError } from '@tether/common';

/**
 * The one flag parser of every `tether` command, on top of `node:util` `parseArgs`:
 * `--flag value`, `--flag=value` and boolean `--flag` (also `--flag=true|false`); the last
 * occurrence wins; `-h`/`--help` anywhere asks for the usage. Every error is a
 * {@link UsageError} whose message names the flag (exit status 2).
 */

/** A command line the CLI cannot run; the message names the flag. Exit status 2. */
export class UsageError extends TetherError {
  override name = 'UsageError';

  constructor(message: string) {
    super('USAGE', message, { retryable: false });
  }
}

/** How a flag's value is read. `raw`: the text as given, checked later by its owner. */
export type FlagKind = 'bool' | 'string' | 'int' | 'number' | 'duration' | 'raw';

/** One accepted flag. */
export interface FlagSpec {
  kind: FlagKind;
  /** Smallest accepted value (int, number; duration in ms). */
  min?: number;
  /** Largest accepted value (int, number; duration in ms). */
  max?: number;
  /** Accepted strings (string flags). */
  choices?: readonly string[];
  /** For `duration`: `off` (and `0`) give no value, i.e. the feature is off. */
  off?: boolean;
  /** For `bool`: a switch that takes no value (`--insecure`, not `--insecure=true`). */
  noValue?: boolean;
}

/** A flag's value: `undefined` for a duration given as `off`. */
export type FlagValue = string | number | boolean | undefined;

/** The parsed command line: values by flag name (without `--`), in the order given. */
export interface ParsedFlags {
  readonly values: ReadonlyMap<string, FlagValue>;
  /** Every flag occurrence in order (for flags that set the same thing, such as `--insecure` and `--auth`). */
  readonly given: ReadonlyArray<{ name: string; value: FlagValue }>;
  readonly positionals: readonly string[];
  readonly help: boolean;
}

/** Parses `argv` against `specs` (keys are flag names without `--`). */
export function parseFlags(
  argv: readonly string[],
  specs: Readonly<Record<string, FlagSpec>>,
): ParsedFlags {
  const options: Record<string, { type: 'boolean' | 'string'; short?: string }> = {
    help: { type: 'boolean', short: 'h' },
  };
  for (const [name, spec] of Object.entries(specs)) {
    options[name] = { type: spec.kind === 'bool' ? 'boolean' : 'string' };
  }
  const { tokens } = parseArgs({
    args: [...argv],
    options,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const help = tokens.some((t) => t.kind === 'option' && t.name === 'help');
  const values = new Map<string, FlagValue>();
  const given: Array<{ name: string; value: FlagValue }> = [];
  const positionals: string[] = [];
  for (const token of tokens) {
    if (token.kind === 'positional') positionals.push(token.value);
    if (token.kind !== 'option' || token.name === 'help') continue;
    const spec = Object.hasOwn(specs, token.name) ? specs[token.name] : undefined;
    if (spec === undefined) {
      if (help) continue;
      throw new UsageError(`unknown option ${token.rawName}`);
    }
    const flag = `--${token.name}`;
    let value: FlagValue;
    if (spec.kind === 'bool') {
      if (token.value !== undefined && spec.noValue === true) {
        throw new UsageError(`${flag} takes no value`);
      }
      value = token.value === undefined ? true : readBool(flag, token.value);
    } else {
      const text = token.value;
      if (text === undefined || (!token.inlineValue && text.startsWith('--') && text.length > 2)) {
        if (help) continue;
        throw new UsageError(`${flag} needs a value`);
      }
      value = help ? text : convert(flag, text, spec);
    }
    values.set(token.name, value);
    given.push({ name: token.name, value });
  }
  return { values, given, positionals, help };
}

function readBool(flag: string, text: string): boolean {
  if (text !== 'true' && text !== 'false') {
    throw new UsageError(`${flag}: expected true or false, got "${text}"`);
  }
  return text === 'true';
}

function convert(flag: string, text: string, spec: FlagSpec): FlagValue {
  switch (spec.kind) {
    case 'raw':
      return text;
    case 'string':
      if (spec.choices !== undefined && !spec.choices.includes(text)) {
        throw new UsageError(`${flag}: expected one of ${spec.choices.join(', ')}, got "${text}"`);
      }
      if (text === '') throw new UsageError(`${flag}: expected a value, got ""`);
      return text;
    case 'int': {
      if (!/^-?\d+$/.test(text))
        throw new UsageError(`${flag}: expected an integer, got "${text}"`);
      return inRange(flag, Number(text), spec, text);
    }
    case 'number': {
      const value = Number(text);
      if (text.trim() === '' || !Number.isFinite(value)) {
        throw new UsageError(`${flag}: expected a number, got "${text}"`);
      }
      return inRange(flag, value, spec, text);
    }
    case 'duration': {
      if (spec.off === true && (text === 'off' || text === '0')) return undefined;
      let ms: number;
      try {
        ms = parseDuration(text, flag);
      } catch (err) {
        throw new UsageError(
          spec.off === true
            ? `${flag}: expected a duration (e.g. 5s) or off, got "${text}"`
            : (err as Error).message,
        );
      }
      return inRange(flag, ms, spec, text);
    }
    default:
      throw new UsageError(`${flag}: unsupported flag kind`);
  }
}

function inRange(flag: string, value: number, spec: FlagSpec, text: string): number {
  if (spec.min !== undefined && value < spec.min) {
    throw new UsageError(`${flag}: must be at least ${spec.min}, got "${text}"`);
  }
  if (spec.max !== undefined && value > spec.max) {
    throw new UsageError(`${flag}: must be at most ${spec.max}, got "${text}"`);
  }
  return value;
}

/** Typed reads of a {@link ParsedFlags}, with a fallback. */
export class FlagValues {
  constructor(private readonly parsed: ParsedFlags) {}

  get help(): boolean {
    return this.parsed.help;
  }

  get positionals(): readonly string[] {
    return this.parsed.positionals;
  }

  has(name: string): boolean {
    return this.parsed.values.has(name);
  }

  bool(name: string, fallback = false): boolean {
    const value = this.parsed.values.get(name);
    return typeof value === 'boolean' ? value : fallback;
  }

  num(name: string, fallback: number): number {
    const value = this.parsed.values.get(name);
    return typeof value === 'number' ? value : fallback;
  }

  optionalNum(name: string): number | undefined {
    const value = this.parsed.values.get(name);
    return typeof value === 'number' ? value : undefined;
  }

  /** A number flag that may be turned off (`off`, `0`): undefined then; `fallback` when absent. */
  numOrOff(name: string, fallback: number | undefined): number | undefined {
    return this.parsed.values.has(name) ? this.optionalNum(name) : fallback;
  }

  str<T extends string = string>(name: string, fallback: T): T {
    const value = this.parsed.values.get(name);
    return typeof value === 'string' ? (value as T) : fallback;
  }

  optionalStr(name: string): string | undefined {
    const value = this.parsed.values.get(name);
    return typeof value === 'string' ? value : undefined;
  }
}

/** Checks a WebSocket URL given on the command line; returns it normalized. */
export function checkWsUrl(text: string | undefined, what: string): string {
  if (text === undefined) throw new UsageError(`${what}: a URL is required (ws://host:port/path)`);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`${what}: not a URL: "${text}"`);
  }
  if (url.protocol === 'http:') url.protocol = 'ws:';
  else if (url.protocol === 'https:') url.protocol = 'wss:';
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') {
    throw new UsageError(
      `${what}: expected a ws://, wss://, http:// or https:// URL, got "${text}"`,
    );
  }
  return url.toString();
}
