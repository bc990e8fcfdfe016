import { parseDuration } from '@tether/common';
import { UsageError } from './args.js';

/**
 * A small flag parser shared by `probe`, `bench` and `chaos`: `--flag value`,
 * `--flag=value` and boolean `--flag`; the last occurrence wins; every error is a
 * {@link UsageError} whose message names the flag (exit status 2).
 */

/** How a flag's value is read. */
export type FlagKind = 'bool' | 'string' | 'int' | 'number' | 'duration';

/** One accepted flag. */
export interface FlagSpec {
  kind: FlagKind;
  /** Smallest accepted value (int, number; duration in ms). */
  min?: number;
  /** Largest accepted value (int, number; duration in ms). */
  max?: number;
  /** Accepted strings (string flags). */
  choices?: readonly string[];
}

/** The parsed command line: values by flag name (without `--`), and positionals. */
export interface ParsedFlags {
  readonly values: ReadonlyMap<string, string | number | boolean>;
  readonly positionals: readonly string[];
  readonly help: boolean;
}

/** Parses `argv` against `specs` (keys are flag names without `--`). */
export function parseFlags(
  argv: readonly string[],
  specs: Readonly<Record<string, FlagSpec>>,
): ParsedFlags {
  const values = new Map<string, string | number | boolean>();
  const positionals: string[] = [];
  let help = false;
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] as string;
    if (arg === '-h' || arg === '--help') {
      help = true;
      continue;
    }
    if (!arg.startsWith('--') || arg === '--') {
      if (arg.startsWith('-') && arg !== '-') throw new UsageError(`unknown option ${arg}`);
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = (eq === -1 ? arg : arg.slice(0, eq)).slice(2);
    const spec = specs[name];
    if (spec === undefined) throw new UsageError(`unknown option --${name}`);
    if (spec.kind === 'bool') {
      if (eq !== -1) {
        const text = arg.slice(eq + 1);
        if (text !== 'true' && text !== 'false') {
          throw new UsageError(`--${name}: expected true or false, got "${text}"`);
        }
        values.set(name, text === 'true');
      } else values.set(name, true);
      continue;
    }
    let text: string | undefined;
    if (eq !== -1) text = arg.slice(eq + 1);
    else {
      text = argv[i + 1];
      if (text === undefined || (text.startsWith('--') && text.length > 2)) {
        throw new UsageError(`--${name} needs a value`);
      }
      i += 1;
    }
    values.set(name, convert(name, text, spec));
  }
  return { values, positionals, help };
}

function convert(name: string, text: string, spec: FlagSpec): string | number {
  const flag = `--${name}`;
  switch (spec.kind) {
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
      let ms: number;
      try {
        ms = parseDuration(text, flag);
      } catch (err) {
        throw new UsageError((err as Error).message);
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
