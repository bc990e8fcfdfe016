import { parseDuration } from '@tether/common';
import { isValidTopic } from '@tether/protocol';
import { resolveTrustedProxies } from '@tether/server';
import type { TopicHistoryRule, TopicPermission, TopicRule } from './config-types.js';

/**
 * A value a config parser refuses. `path` extends the key for values with inner
 * structure (`topics["demo:*"].publish`); the resolver prefixes the source.
 */
export class FieldError extends Error {
  constructor(
    message: string,
    readonly path = '',
  ) {
    super(message);
  }
}

/**
 * Turns one raw value into a typed one. `text` is true for values from flags and
 * environment variables (always strings), false for the config file and `serve()`
 * (JSON values).
 */
export type Parser<T> = (value: unknown, text: boolean) => T;

const show = (value: unknown): string =>
  typeof value === 'string' ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value));

export function int(min: number, max = Number.MAX_SAFE_INTEGER): Parser<number> {
  return (value, text) => {
    const n =
      text && typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : value;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
      const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `in [${min}, ${max}]`;
      throw new FieldError(`expected an integer ${range}, got ${show(value)}`);
    }
    return n;
  };
}

export const port: Parser<number> = (value, text) => {
  const n = text && typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 65_535) {
    throw new FieldError(`expected a port number 0-65535, got ${show(value)}`);
  }
  return n;
};

/** Milliseconds as a number, or a duration string (`500ms`, `25s`, `2m`, `1h`). */
export function duration(minMs: number, maxMs: number): Parser<number> {
  return (value) => {
    let ms: number;
    if (typeof value === 'number' || typeof value === 'string') {
      try {
        ms = parseDuration(value, 'value');
      } catch {
        throw new FieldError(
          `expected milliseconds or a duration like "500ms", "25s", "2m", got ${show(value)}`,
        );
      }
    } else {
      throw new FieldError(
        `expected milliseconds or a duration like "500ms", "25s", "2m", got ${show(value)}`,
      );
    }
    if (ms < minMs || ms > maxMs) {
      throw new FieldError(
        `must be between ${humanMs(minMs)} and ${humanMs(maxMs)}, got ${show(value)}`,
      );
    }
    return ms;
  };
}

/** A bound in the largest whole unit: `10ms`, `25s`, `24h`, `720h`. */
function humanMs(ms: number): string {
  if (ms >= 3_600_000 && ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms >= 60_000 && ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms >= 1000 && ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

export function str(options: { minLength?: number; what?: string } = {}): Parser<string> {
  const min = options.minLength ?? 1;
  return (value) => {
    if (typeof value !== 'string') {
      throw new FieldError(`expected ${options.what ?? 'a string'}, got ${show(value)}`);
    }
    if (value.trim().length < min) {
      throw new FieldError(
        min <= 1
          ? `expected ${options.what ?? 'a non-empty string'}, got ""`
          : `expected ${options.what ?? 'a string'} of at least ${min} characters, got ${value.length}`,
      );
    }
    return value;
  };
}

export const host: Parser<string> = (value) => {
  if (typeof value !== 'string' || value.trim() === '' || /\s/.test(value)) {
    throw new FieldError(`expected an address, got ${show(value)}`);
  }
  return value;
};

export const bool: Parser<boolean> = (value, text) => {
  if (typeof value === 'boolean') return value;
  if (text && typeof value === 'string') {
    const v = value.trim().toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(v)) return true;
    if (['0', 'false', 'no', 'off', ''].includes(v)) return false;
  }
  throw new FieldError(`expected true or false, got ${show(value)}`);
};

export function oneOf<T extends string>(choices: readonly T[]): Parser<T> {
  return (value) => {
    if (typeof value !== 'string' || !(choices as readonly string[]).includes(value)) {
      throw new FieldError(`expected one of ${choices.join(', ')}, got ${show(value)}`);
    }
    return value as T;
  };
}

/** `memory` or `sqlite:PATH`; Redis gets a clear "not yet". */
export const store: Parser<'memory' | `sqlite:${string}`> = (value) => {
  if (value === 'memory') return 'memory';
  if (typeof value === 'string' && value.startsWith('sqlite:')) {
    if (value.length === 'sqlite:'.length) {
      throw new FieldError(`sqlite needs a file path, e.g. "sqlite:./data/tether.db"`);
    }
    return value as `sqlite:${string}`;
  }
  if (typeof value === 'string' && /^(redis|rediss|redis-cluster):/.test(value)) {
    throw new FieldError(
      `the Redis store arrives with the cluster issue; this version supports "memory" and "sqlite:PATH", got ${show(value)}`,
    );
  }
  throw new FieldError(`expected "memory" or "sqlite:PATH", got ${show(value)}`);
};

/** A list of strings: a JSON array, or comma-separated text. */
export const list: Parser<string[]> = (value, text) => {
  const items =
    text && typeof value === 'string'
      ? value
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s !== '')
      : value;
  if (!Array.isArray(items) || items.some((s) => typeof s !== 'string' || s === '')) {
    throw new FieldError(`expected a list of non-empty strings, got ${show(value)}`);
  }
  return items as string[];
};

/**
 * `trustProxy`: the proxies the hub believes, as addresses and CIDR ranges (a JSON
 * array, or comma-separated text). `false` (or `off`, or empty text) trusts nobody;
 * `true` is refused because it used to believe any `X-Forwarded-For`.
 */
export const proxies: Parser<string[]> = (value, text) => {
  if (value === false) return [];
  if (text && typeof value === 'string' && ['', 'false', 'off', 'no', '0'].includes(value.trim())) {
    return [];
  }
  if (value === true || (text && typeof value === 'string' && value.trim() === 'true')) {
    throw new FieldError(
      'true is no longer accepted (it let clients forge their address): list the proxies you run, e.g. "127.0.0.1,10.0.0.0/8"',
    );
  }
  const items = list(value, text);
  try {
    resolveTrustedProxies(items);
  } catch (err) {
    throw new FieldError((err as Error).message.replace(/^trustProxy: /, ''));
  }
  return items;
};

/** `false`, or `{ perSecond, burst }`. */
export const rate: Parser<{ perSecond: number; burst: number } | false> = (value, text) => {
  if (value === false || (text && value === 'off')) return false;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new FieldError(`expected { "perSecond": N, "burst": N } or false, got ${show(value)}`);
  }
  const given = value as Record<string, unknown>;
  for (const key of Object.keys(given)) {
    if (key !== 'perSecond' && key !== 'burst') {
      throw new FieldError('unknown key (known: perSecond, burst)', `.${key}`);
    }
  }
  const field = (key: 'perSecond' | 'burst', fallback: number): number => {
    if (given[key] === undefined) return fallback;
    try {
      return int(1)(given[key], false);
    } catch (err) {
      throw new FieldError((err as Error).message, `.${key}`);
    }
  };
  return { perSecond: field('perSecond', 100), burst: field('burst', 200) };
};

const PERMISSIONS: readonly TopicPermission[] = ['anyone', 'authenticated', 'none'];

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

const HISTORY_MAX_AGE_MS = 365 * 24 * 60 * 60_000;

/** A namespace's `history`: `{ maxCount?, maxAgeMs? }`, checked like the hub-wide `history.*`. */
function topicHistory(value: unknown, at: string): TopicHistoryRule {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new FieldError(`expected { "maxCount": ..., "maxAgeMs": ... }, got ${show(value)}`, at);
  }
  const raw = value as Record<string, unknown>;
  for (const key of Object.keys(raw)) {
    if (key !== 'maxCount' && key !== 'maxAgeMs') {
      throw new FieldError('unknown key (known: maxCount, maxAgeMs)', `${at}.${key}`);
    }
  }
  const field = <T>(key: 'maxCount' | 'maxAgeMs', parse: Parser<T>): T | undefined => {
    if (raw[key] === undefined) return undefined;
    try {
      return parse(raw[key], false);
    } catch (err) {
      throw new FieldError((err as Error).message, `${at}.${key}`);
    }
  };
  const history: TopicHistoryRule = {};
  const maxCount = field('maxCount', int(0));
  const maxAgeMs = field('maxAgeMs', duration(1, HISTORY_MAX_AGE_MS));
  if (maxCount !== undefined) history.maxCount = maxCount;
  if (maxAgeMs !== undefined) history.maxAgeMs = maxAgeMs;
  return history;
}

/**
 * `{ "<pattern>": { publish?, subscribe?, history? } }`; an omitted permission is `none`
 * for publish, `authenticated` for subscribe; an omitted `history` keeps the hub-wide one.
 */
export const topics: Parser<Record<string, TopicRule>> = (value) => {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new FieldError(
      `expected an object of namespaces, e.g. { "demo:*": { "publish": "authenticated", "subscribe": "anyone" } }, got ${show(value)}`,
    );
  }
  const rules: Record<string, TopicRule> = {};
  for (const [pattern, raw] of Object.entries(value as Record<string, unknown>)) {
    const at = `[${JSON.stringify(pattern)}]`;
    if (!isNamespacePattern(pattern)) {
      throw new FieldError(
        'not a topic pattern: use "*", "prefix*", a topic name (letters, digits and _ - . : / @ # = +), or {sub} as one segment ("user:{sub}")',
        at,
      );
    }
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      throw new FieldError(
        `expected { "publish": ..., "subscribe": ..., "history": ... }, got ${show(raw)}`,
        at,
      );
    }
    const rule = raw as Record<string, unknown>;
    for (const key of Object.keys(rule)) {
      if (key !== 'publish' && key !== 'subscribe' && key !== 'history') {
        throw new FieldError('unknown key (known: publish, subscribe, history)', `${at}.${key}`);
      }
    }
    const permission = (key: 'publish' | 'subscribe', fallback: TopicPermission) => {
      if (rule[key] === undefined) return fallback;
      try {
        return oneOf(PERMISSIONS)(rule[key], false);
      } catch (err) {
        throw new FieldError((err as Error).message, `${at}.${key}`);
      }
    };
    const parsed: TopicRule = {
      publish: permission('publish', 'none'),
      subscribe: permission('subscribe', 'authenticated'),
    };
    if (rule.history !== undefined) parsed.history = topicHistory(rule.history, `${at}.history`);
    rules[pattern] = parsed;
  }
  return rules;
};

/** `backend.url`: an absolute http(s) URL without a query or fragment (paths are appended). */
export const httpUrl: Parser<string> = (value) => {
  let url: URL | undefined;
  try {
    url = typeof value === 'string' ? new URL(value) : undefined;
  } catch {
    url = undefined;
  }
  if (
    url === undefined ||
    (url.protocol !== 'http:' && url.protocol !== 'https:') ||
    url.search !== '' ||
    url.hash !== ''
  ) {
    throw new FieldError(
      `expected an http:// or https:// URL without a query, e.g. "http://127.0.0.1:8000", got ${show(value)}`,
    );
  }
  return url.href.replace(/\/+$/, '');
};

/** A backend path: starts with `/`, no query, at most 512 characters. */
export const urlPath: Parser<string> = (value) => {
  if (typeof value !== 'string' || !/^\/[^?#\s]{0,511}$/.test(value)) {
    throw new FieldError(
      `expected a path starting with "/", e.g. "/tether/message", got ${show(value)}`,
    );
  }
  return value;
};

/** A list of distinct items of `choices` (comma-separated in flags and the environment). */
export function subsetOf<T extends string>(choices: readonly T[]): Parser<T[]> {
  return (value, text) => {
    const items = list(value, text);
    for (const item of items) {
      if (!(choices as readonly string[]).includes(item)) {
        throw new FieldError(`"${item}" is not one of ${choices.join(', ')}`);
      }
    }
    return [...new Set(items)] as T[];
  };
}
