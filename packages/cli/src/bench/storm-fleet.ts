import { AuditedClient } from '../chaos/audited-client.js';
import { type SequenceVerdict, sumVerdicts } from '../chaos/sequence-audit.js';
import { fulfilledWithin, waitUntil } from '../wait-until.js';
import { AttemptLog, type StormAttempts } from './storm-trace.js';

/**
 * The storm's clients: real Tether clients (default reconnect policy), each receiving a
 * numbered topic stream, spread over source addresses, and over worker processes by
 * {@link WorkerStormFleet} (one process holds only so many sockets and one event loop
 * only so many clients). Every open is recorded with its wall-clock time and whether it
 * resumed the session, so a restart's reconnect curve can be drawn afterwards.
 */

export interface StormOpenOptions {
  url: string;
  count: number;
  /** Source addresses, used round-robin (empty: the system picks). */
  addresses: readonly string[];
  /** Client names are `${prefix}${i}`: unique over the whole fleet. */
  prefix: string;
  timeoutMs: number;
}

/** Who is back since a moment (wall-clock ms, comparable across local processes). */
export interface StormStatus {
  total: number;
  /** Clients open now whose latest open is after `since`. */
  back: number;
  /**
   * The others, by client state and the close code of their latest attempt
   * (`connecting after 4012`, `circuit-open after 1006`, ...): why they are not back.
   */
  notBack: Record<string, number>;
}

/** The opens after a moment, for the reconnect curve. */
export interface StormOpens {
  /** Wall-clock time of each client's first open after `since` (clients not back: absent). */
  firstOpenAt: number[];
  /** Of those first opens, how many resumed their session. */
  resumed: number;
  /** ... and how many were told the session was lost (`recovered: false`). */
  notResumed: number;
  /** The largest `retryAfter` hint a client was given after `since` (null: none was). */
  maxHintMs: number | null;
}

export interface StormAudit {
  verdict: SequenceVerdict;
  /** Explicit gap signals the clients got. */
  gaps: number;
}

export interface StormFleet {
  /** Opens `count` clients; resolves with how many are open by the deadline. */
  open(options: StormOpenOptions): Promise<number>;
  /** Subscribes every client; resolves with how many confirmed. */
  subscribe(topic: string, timeoutMs: number): Promise<number>;
  status(since: number): Promise<StormStatus>;
  opens(since: number): Promise<StormOpens>;
  /** Whether every client has publications 1..`published`. */
  complete(published: number): Promise<boolean>;
  audit(published: number): Promise<StormAudit>;
  /** Every socket attempt started after `since`, per bucket of `bucketMs` (see storm-trace.ts). */
  attempts(since: number, bucketMs: number): Promise<StormAttempts>;
  close(): Promise<void>;
}

/** The clients of this process. */
export class StormClients implements StormFleet {
  private clients: AuditedClient[] = [];
  private openLog: Array<Array<{ at: number; resumed: boolean }>> = [];
  private readonly disposers: Array<() => void> = [];
  private readonly attemptLog = new AttemptLog();
  /** Server hints the clients acted on: when, and the hint (ms). */
  private readonly hints: Array<{ at: number; ms: number }> = [];

  async open(options: StormOpenOptions): Promise<number> {
    const first = this.clients.length;
    for (let i = 0; i < options.count; i += 1) {
      const address =
        options.addresses.length === 0
          ? undefined
          : options.addresses[i % options.addresses.length];
      const index = this.clients.length;
      const client = new AuditedClient(`${options.prefix}${i + 1}`, options.url, {
        WebSocket: this.attemptLog.socketClass(index, address),
      });
      const log: Array<{ at: number; resumed: boolean }> = [];
      this.disposers.push(
        client.client.on('open', (event) => {
          log.push({ at: Date.now(), resumed: event.resumed });
          this.attemptLog.welcomed(index);
        }),
        client.client.on('retry', (event) => {
          if (event.kind === 'hint' && event.retryAfterMs !== undefined) {
            this.hints.push({ at: Date.now(), ms: event.retryAfterMs });
          }
        }),
      );
      this.clients.push(client);
      this.openLog.push(log);
    }
    const mine = this.clients.slice(first);
    await waitUntil(() => mine.every((c) => c.open), options.timeoutMs);
    return mine.filter((c) => c.open).length;
  }

  async subscribe(topic: string, timeoutMs: number): Promise<number> {
    return fulfilledWithin(
      this.clients.map((c) => c.subscribe(topic)),
      timeoutMs,
    );
  }

  async status(since: number): Promise<StormStatus> {
    const notBack: Record<string, number> = {};
    let back = 0;
    for (const c of this.clients) {
      if (c.open && c.lastOpenAt > since) back += 1;
      else {
        // With the close that ended its latest attempt: 4012 (connect timeout), 1006 (no
        // answer or refused), 1012 (refused with a hint) say where the client is stuck.
        const last = c.closeLog.at(-1)?.code;
        const state = c.open
          ? 'open on the old server'
          : last === undefined
            ? c.state
            : `${c.state} after ${last}`;
        notBack[state] = (notBack[state] ?? 0) + 1;
      }
    }
    return { total: this.clients.length, back, notBack };
  }

  async opens(since: number): Promise<StormOpens> {
    const result: StormOpens = { firstOpenAt: [], resumed: 0, notResumed: 0, maxHintMs: null };
    for (const hint of this.hints) {
      if (hint.at > since) result.maxHintMs = Math.max(result.maxHintMs ?? 0, hint.ms);
    }
    for (const log of this.openLog) {
      const first = log.find((o) => o.at > since);
      if (first === undefined) continue;
      result.firstOpenAt.push(first.at);
      if (first.resumed) result.resumed += 1;
      else result.notResumed += 1;
    }
    return result;
  }

  async complete(published: number): Promise<boolean> {
    return this.clients.every((c) => c.pubs.complete(published));
  }

  async audit(published: number): Promise<StormAudit> {
    return {
      verdict: sumVerdicts(this.clients.map((c) => c.pubs.verdict(published))),
      gaps: this.clients.reduce((sum, c) => sum + c.gaps, 0),
    };
  }

  async attempts(since: number, bucketMs: number): Promise<StormAttempts> {
    return this.attemptLog.summary(since, bucketMs);
  }

  async close(): Promise<void> {
    for (const dispose of this.disposers.splice(0)) dispose();
    await Promise.all(this.clients.map((c) => c.close().catch(() => {})));
    this.clients = [];
    this.openLog = [];
    this.hints.length = 0;
  }
}

/** Merges the answers of several processes. */
export const mergeStorm = {
  status(parts: readonly StormStatus[]): StormStatus {
    const notBack: Record<string, number> = {};
    for (const p of parts) {
      for (const [state, n] of Object.entries(p.notBack))
        notBack[state] = (notBack[state] ?? 0) + n;
    }
    return {
      total: parts.reduce((s, p) => s + p.total, 0),
      back: parts.reduce((s, p) => s + p.back, 0),
      notBack,
    };
  },
  opens(parts: readonly StormOpens[]): StormOpens {
    return {
      firstOpenAt: parts.flatMap((p) => p.firstOpenAt),
      resumed: parts.reduce((s, p) => s + p.resumed, 0),
      notResumed: parts.reduce((s, p) => s + p.notResumed, 0),
      maxHintMs: parts.reduce<number | null>(
        (max, p) => (p.maxHintMs === null ? max : Math.max(max ?? 0, p.maxHintMs)),
        null,
      ),
    };
  },
  audit(parts: readonly StormAudit[]): StormAudit {
    return {
      verdict: sumVerdicts(parts.map((p) => p.verdict)),
      gaps: parts.reduce((s, p) => s + p.gaps, 0),
    };
  },
};
