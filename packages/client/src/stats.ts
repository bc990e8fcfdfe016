import type { BreakerSnapshot } from './circuit-breaker.js';
import type { ConnectionState } from './states.js';

/** What `client.stats()` returns. */
export interface ClientStats {
  state: ConnectionState;
  /** The URL of the current (or last) attempt; undefined before a `url` function's first answer. */
  url: string | undefined;
  /** Session id from the latest `welcome`. */
  sessionId: string | undefined;
  /** Connection attempts started, in total. */
  attempts: number;
  /** Attempts that reached `open`. */
  connects: number;
  /** Reconnect attempts in a row since the last stable connection. */
  retries: number;
  /** Attempts in a row that ended before becoming stable (what the breaker counts). */
  consecutiveFailures: number;
  /** How long the current connection has been open (0 when not open). */
  uptimeMs: number;
  /** Time spent open, over the client's life. */
  totalUptimeMs: number;
  /** Round-trip time of the latest app ping, in ms. */
  rttMs: number | undefined;
  /** Smoothed round-trip time (EWMA, weight 0.2 for the newest sample). */
  rttAvgMs: number | undefined;
  /**
   * Open connections lost (every close of an open connection not caused by
   * `close()`), in total. Attempts that never opened are not drops; they count
   * in `consecutiveFailures`.
   */
  drops: number;
  /** The same, by close code. */
  dropsByCode: Record<number, number>;
  /** Drops within the last {@link HEALTH_DROP_WINDOW_MS}. */
  recentDrops: number;
  messagesSent: number;
  messagesReceived: number;
  /** Outbox: unacknowledged messages plus unsent requests, and their bytes. */
  queued: number;
  queuedBytes: number;
  /** Requests waiting for a reply. */
  pendingRequests: number;
  breaker: BreakerSnapshot;
  /** 0-100, see {@link healthScore}. */
  health: number;
}

/** Drops older than this no longer lower the health score (10 minutes). */
export const HEALTH_DROP_WINDOW_MS = 10 * 60_000;

/** Starting score per state: only an open connection can be fully healthy. */
const STATE_BASE: Record<ConnectionState, number> = {
  open: 100,
  connecting: 60,
  reconnecting: 40,
  'circuit-open': 10,
  idle: 0,
  closed: 0,
};

export interface HealthInput {
  state: ConnectionState;
  consecutiveFailures: number;
  recentDrops: number;
  rttAvgMs: number | undefined;
}

/**
 * The health score, 0-100:
 * `base(state) - min(40, 10 * consecutiveFailures) - min(30, 5 * recentDrops)
 *  - min(20, max(0, (rttAvgMs - 100) / 50))`, clamped to 0-100 and rounded.
 * base: open 100, connecting 60, reconnecting 40, circuit-open 10, idle and closed 0.
 * So a connection that is open, stable, without drops in 10 minutes and with a
 * smoothed RTT up to 100 ms scores 100; each recent drop costs 5, each failure
 * in a row 10, and each 50 ms of RTT above 100 ms costs 1 (at most 20).
 */
export function healthScore(input: HealthInput): number {
  const failures = Math.min(40, 10 * input.consecutiveFailures);
  const drops = Math.min(30, 5 * input.recentDrops);
  const rtt =
    input.rttAvgMs === undefined ? 0 : Math.min(20, Math.max(0, (input.rttAvgMs - 100) / 50));
  const score = STATE_BASE[input.state] - failures - drops - rtt;
  return Math.round(Math.min(100, Math.max(0, score)));
}

/** What {@link readStats} reads: the client's parts, through their getters. */
export interface StatsSources {
  readonly lifecycle: { readonly state: ConnectionState };
  readonly session: { readonly sessionId: string | undefined };
  readonly tracker: StatsTracker;
  readonly retry: {
    readonly retries: number;
    readonly failures: number;
    readonly breaker: { snapshot(): BreakerSnapshot };
  };
  readonly outbox: { readonly count: number; readonly bytes: number };
  readonly requests: { readonly size: number };
  readonly urls: { readonly url: string | undefined };
}

/**
 * `client.stats()` at monotonic time `mono`. A function over the parts (not a method of
 * the client) so that the stability monitor, itself a part, reads the same numbers.
 */
export function readStats(parts: StatsSources, mono: number): ClientStats {
  const t = parts.tracker;
  const state = parts.lifecycle.state;
  const recentDrops = t.recentDrops(mono);
  return {
    state,
    url: parts.urls.url,
    sessionId: parts.session.sessionId,
    attempts: t.attempts,
    connects: t.connects,
    retries: parts.retry.retries,
    consecutiveFailures: parts.retry.failures,
    uptimeMs: t.uptime(mono),
    totalUptimeMs: t.totalUptime(mono),
    rttMs: t.rttMs,
    rttAvgMs: t.rttAvgMs,
    drops: t.drops,
    dropsByCode: { ...t.dropsByCode },
    recentDrops,
    messagesSent: t.messagesSent,
    messagesReceived: t.messagesReceived,
    queued: parts.outbox.count,
    queuedBytes: parts.outbox.bytes,
    pendingRequests: parts.requests.size,
    breaker: parts.retry.breaker.snapshot(),
    health: healthScore({
      state,
      consecutiveFailures: parts.retry.failures,
      recentDrops,
      rttAvgMs: t.rttAvgMs,
    }),
  };
}

/** Counters behind `stats()`. Times are monotonic ms. */
export class StatsTracker {
  attempts = 0;
  connects = 0;
  messagesSent = 0;
  messagesReceived = 0;
  rttMs: number | undefined;
  rttAvgMs: number | undefined;
  drops = 0;
  readonly dropsByCode: Record<number, number> = {};
  private dropTimes: number[] = [];
  private openedAt: number | undefined;
  private closedUptimeMs = 0;

  /** A connection attempt started. */
  attempted(): void {
    this.attempts += 1;
  }

  /** An outbox entry (a message, request or publish) was written to the socket. */
  sent(): void {
    this.messagesSent += 1;
  }

  /** A server message was delivered to the application. */
  received(): void {
    this.messagesReceived += 1;
  }

  recordRtt(ms: number): void {
    this.rttMs = ms;
    this.rttAvgMs = this.rttAvgMs === undefined ? ms : this.rttAvgMs * 0.8 + ms * 0.2;
  }

  recordDrop(code: number, now: number): void {
    this.drops += 1;
    this.dropsByCode[code] = (this.dropsByCode[code] ?? 0) + 1;
    this.dropTimes.push(now);
    // Only the window matters; bound the memory even under a reconnect storm.
    if (this.dropTimes.length > 64) this.dropTimes.shift();
  }

  recentDrops(now: number): number {
    this.dropTimes = this.dropTimes.filter((t) => now - t < HEALTH_DROP_WINDOW_MS);
    return this.dropTimes.length;
  }

  opened(now: number): void {
    this.connects += 1;
    this.openedAt = now;
  }

  /** The open connection ended. */
  ended(now: number): void {
    if (this.openedAt === undefined) return;
    this.closedUptimeMs += now - this.openedAt;
    this.openedAt = undefined;
  }

  uptime(now: number): number {
    return this.openedAt === undefined ? 0 : now - this.openedAt;
  }

  totalUptime(now: number): number {
    return this.closedUptimeMs + this.uptime(now);
  }
}
