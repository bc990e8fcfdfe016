import { DURATION_PATTERN, parseDuration } from '@tether/common';
import { isValidTopic } from '@tether/protocol';
import { resolveTrustedProxies } from '@tether/server';
import { checkRedisUrl } from '@tether/store-redis';
import * as z from 'zod';

/**
 * The kinds of values a hub setting takes, as zod schemas whose error messages say what
 * was expected and what was given (`expected a port number 0-65535, got "http"`). The
 * config schema (config-schema.ts) is built from them; the resolver prefixes each message
 * with its source and key.
 */

/** A value as the user wrote it, for error messages. */
export const show = (value: unknown): string =>
  typeof value === 'string' ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value));

type Message = (issue: { input?: unknown }) => string;

/** An integer in [min, max]. */
export function int(min: number, max = Number.MAX_SAFE_INTEGER) {
  const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `in [${min}, ${max}]`;
  const error: Message = (issue) => `expected an integer ${range}, got ${show(issue.input)}`;
  return z.number({ error }).int({ error }).min(min, { error }).max(max, { error });
}

/** A TCP port; 0 asks the system for a free one. */
export function port() {
  const error: Message = (issue) => `expected a port number 0-65535, got ${show(issue.input)}`;
  return z.number({ error }).int({ error }).min(0, { error }).max(65_535, { error });
}

/** A bound in the largest whole unit: `10ms`, `25s`, `24h`, `720h`. */
export function humanMs(ms: number): string {
  if (ms >= 3_600_000 && ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms >= 60_000 && ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms >= 1000 && ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

/**
 * Milliseconds as a number, or a duration string (`500ms`, `25s`, `2m`, `1h`), in
 * [minMs, maxMs]; the output is milliseconds. The one duration syntax of the CLI
 * (`parseDuration` of @tether/common).
 */
export function duration(minMs: number, maxMs: number) {
  const error: Message = (issue) =>
    `expected milliseconds or a duration like "500ms", "25s", "2m", got ${show(issue.input)}`;
  const schema = z
    .union(
      [
        z.number({ error }).min(0, { error }),
        z.string({ error }).regex(DURATION_PATTERN, { error }),
      ],
      { error },
    )
    .transform((value, ctx) => {
      const ms = parseDuration(value);
      if (ms < minMs || ms > maxMs) {
        ctx.issues.push({
          code: 'custom',
          input: value,
          message: `must be between ${humanMs(minMs)} and ${humanMs(maxMs)}, got ${show(value)}`,
        });
        return z.NEVER;
      }
      return ms;
    });
  DURATIONS.add(schema);
  return schema;
}

/** The schemas made by {@link duration}: their defaults are shown as `25s`, not `25000`. */
export const DURATIONS = new WeakSet<z.ZodType>();

/** A string of at least `minLength` characters (not counting surrounding blanks). */
export function str(options: { minLength?: number; what?: string } = {}) {
  const min = options.minLength ?? 1;
  const what = options.what;
  const short: Message = (issue) =>
    min <= 1
      ? `expected ${what ?? 'a non-empty string'}, got ""`
      : `expected ${what ?? 'a string'} of at least ${min} characters, got ${String(issue.input).length}`;
  return z
    .string({ error: (issue) => `expected ${what ?? 'a string'}, got ${show(issue.input)}` })
    .min(min, { error: short })
    .refine((value) => value.trim().length >= min, { error: short });
}

/** An interface address or host name (no blanks). */
export function host() {
  const error: Message = (issue) => `expected an address, got ${show(issue.input)}`;
  return z.string({ error }).regex(/^\S+$/, { error });
}

export function bool() {
  return z.boolean({ error: (issue) => `expected true or false, got ${show(issue.input)}` });
}

export function oneOf<const T extends readonly [string, ...string[]]>(choices: T) {
  return z.enum(choices, {
    error: (issue) => `expected one of ${choices.join(', ')}, got ${show(issue.input)}`,
  });
}

/** Where the hub keeps sessions and topic history. */
export type StoreSpec = 'memory' | `sqlite:${string}` | `redis://${string}` | `rediss://${string}`;

/**
 * `memory`, `sqlite:PATH`, or a Redis URL (`redis://HOST:PORT[/DB]`, `rediss://` for
 * TLS), checked by the Redis store itself so the hub and the library refuse the same URLs.
 */
export function store() {
  const error: Message = ({ input }) => {
    if (input === 'sqlite:') return 'sqlite needs a file path, e.g. "sqlite:./data/tether.db"';
    return `expected "memory", "sqlite:PATH" or "redis://HOST:PORT[/DB]", got ${show(input)}`;
  };
  return z
    .string({ error })
    .regex(/^(memory|sqlite:.+|rediss?:.*)$/, { error })
    .transform((value, ctx) => {
      if (/^rediss?:/.test(value)) {
        try {
          checkRedisUrl(value);
        } catch (err) {
          ctx.issues.push({
            code: 'custom',
            input: value,
            message: (err as Error).message.replace(/^store\.url: /, ''),
          });
          return z.NEVER;
        }
      }
      return value as StoreSpec;
    });
}

/** The same URL without its password, for logs and the start banner. */
export function redactStore(spec: StoreSpec): string {
  if (!/^rediss?:/.test(spec)) return spec;
  const url = new URL(spec);
  if (url.password !== '') url.password = '***';
  return url.toString();
}

/** A list of non-empty strings (comma-separated text from flags and the environment). */
export function list() {
  const error: Message = (issue) =>
    `expected a list of non-empty strings, got ${show(issue.input)}`;
  return z.array(z.string({ error }).min(1, { error }), { error });
}

/**
 * `trustProxy`: the proxies the hub believes, as addresses and CIDR ranges. `false`
 * trusts nobody; `true` is refused because it used to believe any `X-Forwarded-For`.
 */
export function proxies() {
  const error: Message = ({ input }) =>
    input === true
      ? 'true is no longer accepted (it let clients forge their address): list the proxies you run, e.g. "127.0.0.1,10.0.0.0/8"'
      : `expected a list of addresses and CIDR ranges, or false, got ${show(input)}`;
  return z.union([z.literal(false), list()], { error }).transform((value, ctx) => {
    if (value === false) return [];
    try {
      resolveTrustedProxies(value);
    } catch (err) {
      ctx.issues.push({
        code: 'custom',
        input: value,
        message: (err as Error).message.replace(/^trustProxy: /, ''),
      });
      return z.NEVER;
    }
    return value;
  });
}

/**
 * A strict object: an unknown key is an error naming the known ones, and a value that is
 * not an object says what the object holds (`expected { "publish": ..., ... }`).
 */
export function strictObject<Shape extends z.ZodRawShape>(shape: Shape, expected?: string) {
  const known = Object.keys(shape).filter((key) => key !== '$schema');
  return z.strictObject(shape, {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? `unknown key (known: ${known.join(', ')})`
        : `expected ${expected ?? `an object with ${known.join(', ')}`}, got ${show(issue.input)}`,
  });
}

/** Whether `pattern` is a topic namespace pattern: `*`, `prefix*`, or an exact topic name. */
export function isTopicPattern(pattern: string): boolean {
  if (pattern === '*') return true;
  const base = pattern.endsWith('*') ? pattern.slice(0, -1) : pattern;
  return base.length > 0 && isValidTopic(base);
}

/**
 * A namespace key: a topic pattern, or one with `{sub}` (the connection's user) as one
 * whole segment: `user:{sub}`, `user:{sub}:*`, `inbox/{sub}/alerts`, `user:{sub}*`.
 */
export function isNamespacePattern(pattern: string): boolean {
  const at = pattern.indexOf('{sub}');
  if (at === -1) return isTopicPattern(pattern);
  if (pattern.indexOf('{sub}', at + 1) !== -1) return false;
  const before = pattern.slice(0, at);
  const after = pattern.slice(at + '{sub}'.length);
  const boundary = (c: string | undefined): boolean => c === undefined || ':/.'.includes(c);
  if (!boundary(before.at(-1)) || !(after === '' || after === '*' || boundary(after[0]))) {
    return false;
  }
  return isTopicPattern(`${before}sub${after}`);
}

/** A topic namespace key (see {@link isNamespacePattern}). */
export function namespacePattern() {
  return z.string().refine(isNamespacePattern, {
    error:
      'not a topic pattern: use "*", "prefix*", a topic name (letters, digits and _ - . : / @ # = +), or {sub} as one segment ("user:{sub}")',
  });
}

/** `backend.url`: an absolute http(s) URL without a query or fragment (paths are appended). */
export function httpUrl() {
  const error: Message = ({ input }) =>
    `expected an http:// or https:// URL without a query, e.g. "http://127.0.0.1:8000", got ${show(input)}`;
  return z.string({ error }).transform((value, ctx) => {
    let url: URL | undefined;
    try {
      url = new URL(value);
    } catch {
      url = undefined;
    }
    if (
      url === undefined ||
      (url.protocol !== 'http:' && url.protocol !== 'https:') ||
      url.search !== '' ||
      url.hash !== ''
    ) {
      ctx.issues.push({ code: 'custom', input: value, message: error({ input: value }) });
      return z.NEVER;
    }
    return url.href.replace(/\/+$/, '');
  });
}

/** A URL path: starts with `/`, no query, at most 512 characters. */
export function urlPath() {
  const error: Message = ({ input }) =>
    `expected a path starting with "/", e.g. "/tether/message", got ${show(input)}`;
  return z.string({ error }).regex(/^\/[^?#\s]{0,511}$/, { error });
}

/**
 * Distinct items of `choices` (comma-separated text from flags and the environment); a
 * wrong item is named (`"teleport" is not one of ...`).
 */
export function subsetOf<const T extends readonly [string, ...string[]]>(choices: T) {
  const error: Message = ({ input }) =>
    `expected a list of ${choices.join(', ')}, got ${show(input)}`;
  return z.array(z.string({ error }), { error }).transform((items, ctx) => {
    const wrong = items.find((item) => !(choices as readonly string[]).includes(item));
    if (wrong !== undefined) {
      ctx.issues.push({
        code: 'custom',
        input: items,
        message: `"${wrong}" is not one of ${choices.join(', ')}`,
      });
      return z.NEVER;
    }
    return [...new Set(items)] as T[number][];
  });
}
