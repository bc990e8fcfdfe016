import { OptionError } from '@tether/common';
import { CloseCode } from '@tether/protocol';
import { UrlProviderError } from './errors.js';

/** What a `url` function is told before every connection attempt. */
export interface UrlContext {
  /** The number of the attempt about to start (1 for the client's first). */
  attempt: number;
  /** The URL of the previous attempt (undefined before the first). */
  lastUrl: string | undefined;
  /** The effective close code that ended the previous attempt (undefined before the first). */
  closeCode: number | undefined;
  /** Its close reason. */
  reason: string | undefined;
}

/** Returns the URL of the next attempt; called before every attempt. */
export type UrlProvider = (context: UrlContext) => string | URL | Promise<string | URL>;

/** An attempt goes to another URL than the previous one (the `failover` event). */
export interface UrlSwitch {
  /** The previous attempt's URL. */
  from: string;
  /** This attempt's. */
  to: string;
  /** The number of the attempt. */
  attempt: number;
  /** The effective close code that ended the previous attempt. */
  closeCode: number | undefined;
  reason: string | undefined;
}

/** One URL, several (tried in turn), or a function that picks each attempt's. */
export type UrlSource = string | URL | ReadonlyArray<string | URL> | UrlProvider;

/**
 * Close codes that say nothing is wrong with the node, only with this client's use of it
 * (its rate, a message too big, its token, a slow read): the next attempt goes back to the
 * same URL, as with a single one. Every other code that reconnects moves on.
 */
const STAY_CODES: ReadonlySet<number> = new Set([
  CloseCode.POLICY_VIOLATION,
  CloseCode.MESSAGE_TOO_BIG,
  CloseCode.TOKEN_EXPIRED,
  CloseCode.SLOW_CONSUMER,
]);

/**
 * Validates a server URL: `ws:`/`wss:`, or `http:`/`https:` (turned into `ws:`/`wss:`),
 * relative URLs resolved against the page in browsers. `name` is the option named in errors.
 */
export function resolveUrl(url: string | URL, name = 'url'): string {
  let parsed: URL;
  try {
    const base = (globalThis as { location?: { href?: string } }).location?.href;
    parsed = new URL(String(url), base);
  } catch {
    throw new OptionError(name, `not a valid URL: ${String(url)}`);
  }
  if (parsed.protocol === 'http:') parsed.protocol = 'ws:';
  else if (parsed.protocol === 'https:') parsed.protocol = 'wss:';
  if (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:') {
    throw new OptionError(
      name,
      `expected a ws:, wss:, http: or https: URL, got ${parsed.protocol}`,
    );
  }
  return parsed.href;
}

/**
 * Which URL each attempt goes to. With one URL, always that one. With several, an attempt
 * that fails or a connection that dies (any close that reconnects, except
 * {@link STAY_CODES}) sends the next attempt to the next URL, round-robin; as long as a
 * URL of the current round is untried, it is tried at once (`fast`), and the backoff
 * applies once every URL failed in a row. A round ends only when a connection proves
 * stable, so nodes that accept and drop at once still meet the backoff. With a function,
 * it picks every attempt's URL and the backoff applies to every attempt.
 */
export class UrlRotation {
  private readonly list: readonly string[];
  private readonly provider: UrlProvider | undefined;
  private index = 0;
  private currentUrl: string | undefined;
  /** URLs that failed in a row in this round. */
  private failedInRound = 0;
  private last: { code: number; reason: string } | undefined;

  /** `onSwitch` is told when an attempt goes to another URL than the one before. */
  constructor(
    source: UrlSource,
    private readonly onSwitch: (change: UrlSwitch) => void,
  ) {
    if (typeof source === 'function') {
      this.list = [];
      this.provider = source;
    } else if (Array.isArray(source)) {
      if (source.length === 0) throw new OptionError('url', 'expected at least one URL, got []');
      this.list = source.map((u, i) => resolveUrl(u, `url[${i}]`));
    } else {
      this.list = [resolveUrl(source as string | URL)];
    }
    this.currentUrl = this.list[0];
  }

  /** The URL of the current (or last) attempt; before the first, the first URL (undefined with a function). */
  get url(): string | undefined {
    return this.currentUrl;
  }

  /** The URLs given (empty with a function). */
  get urls(): readonly string[] {
    return this.list;
  }

  /**
   * An attempt ended with a code that reconnects. Returns true when the next attempt
   * should go at once: it moves to a URL not yet tried in this round.
   */
  ended(code: number, reason: string): boolean {
    this.last = { code, reason };
    if (this.list.length < 2) return false;
    if (STAY_CODES.has(code)) {
      this.failedInRound = 0;
      return false;
    }
    this.index = (this.index + 1) % this.list.length;
    this.failedInRound += 1;
    if (this.failedInRound < this.list.length) return true;
    this.failedInRound = 0;
    return false;
  }

  /** A connection proved stable: the next failure starts a new round. */
  stable(): void {
    this.failedInRound = 0;
  }

  /** A fresh `connect()`: a new round from the URL the client is on. */
  reset(): void {
    this.failedInRound = 0;
    this.last = undefined;
  }

  /**
   * The URL of attempt `attempt`: at once from the list, or from the function (maybe
   * later), announced to {@link onSwitch} when it differs from the previous attempt's.
   * `failed` gets what the function threw, or an invalid URL it returned.
   */
  next(
    attempt: number,
    ok: (url: string) => void,
    failed: (error: UrlProviderError) => void,
  ): void {
    const previous = this.currentUrl;
    const provider = this.provider;
    const chosen = (url: string): void => {
      this.currentUrl = url;
      if (previous !== undefined && previous !== url) {
        const { code, reason } = this.last ?? {};
        this.onSwitch({ from: previous, to: url, attempt, closeCode: code, reason });
      }
      ok(url);
    };
    if (provider === undefined) {
      chosen(this.list[this.index] as string);
      return;
    }
    const context: UrlContext = {
      attempt,
      lastUrl: previous,
      closeCode: this.last?.code,
      reason: this.last?.reason,
    };
    const accept = (value: string | URL): void => {
      let url: string;
      try {
        url = resolveUrl(value);
      } catch (err) {
        failed(new UrlProviderError(err));
        return;
      }
      chosen(url);
    };
    let answer: string | URL | Promise<string | URL>;
    try {
      answer = provider(context);
    } catch (err) {
      failed(new UrlProviderError(err));
      return;
    }
    if (typeof answer === 'string' || answer instanceof URL) accept(answer);
    else Promise.resolve(answer).then(accept, (err: unknown) => failed(new UrlProviderError(err)));
  }
}
