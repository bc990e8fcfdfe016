import { connect, type NetConnectOpts, type Socket } from 'node:net';
import type { WebSocketConstructor, WebSocketInit } from '@tether/client';
import { WebSocket } from 'ws';
import type { HubTrace } from './hub-trace.js';
import type { Metric, Series } from './scenario.js';

/**
 * Where a reconnect attempt spends its time, seen from the storm's clients: every socket
 * a client opens is recorded with its start, the TCP connect, the HTTP 101 and the
 * Tether `welcome`, and how it ended when it got no welcome (refused, no TCP, no
 * upgrade, an HTTP status, no welcome). Summed per bucket after a restart, next to the
 * server's own counts, this shows whether a slow reconnect waits for the kernel (SYN,
 * accept queue), the server's upgrade, or its hello/resume path.
 */

interface AttemptRecord {
  start: number;
  tcpAt?: number;
  upgradeAt?: number;
  welcomeAt?: number;
  /** Why it ended without a welcome (set once). */
  failed?: string;
}

/** Attempts after a moment, summed (merge the answers of several processes by adding). */
export interface StormAttempts {
  /** Attempts by outcome: `welcomed`, `refused`, `no TCP`, `no upgrade`, `HTTP 503`, `no welcome`, `pending`. */
  outcomes: Record<string, number>;
  /** Of welcomed attempts: ms from start to TCP connect, to the 101, to the welcome. */
  tcpMs: number[];
  upgradeMs: number[];
  welcomeMs: number[];
  /** Per bucket after `since`: attempts started, TCP connects, 101s, welcomes. */
  started: number[];
  connected: number[];
  upgraded: number[];
  welcomed: number[];
}

/** One log per client process. */
export class AttemptLog {
  private readonly byClient: AttemptRecord[][] = [];

  /**
   * A `ws` WebSocket class for client `index` (bound to `localAddress` when given) that
   * records each socket's attempt.
   */
  socketClass(index: number, localAddress: string | undefined): WebSocketConstructor {
    const records: AttemptRecord[] = [];
    this.byClient[index] = records;
    class Traced extends WebSocket {
      constructor(url: string, protocols?: string | string[], init?: WebSocketInit) {
        const record: AttemptRecord = { start: Date.now() };
        records.push(record);
        const fail = (why: string) => {
          if (record.welcomeAt === undefined) record.failed ??= why;
        };
        super(url, protocols, {
          ...init,
          ...(localAddress === undefined ? {} : { localAddress }),
          createConnection: (options: object) => {
            const socket: Socket = connect(options as NetConnectOpts);
            socket.once('connect', () => {
              record.tcpAt = Date.now();
            });
            return socket;
          },
        } as WebSocketInit);
        this.once('upgrade', () => {
          record.upgradeAt = Date.now();
        });
        this.once('unexpected-response', (_req: unknown, res: { statusCode?: number }) =>
          fail(`HTTP ${res.statusCode ?? '?'}`),
        );
        // System errors only (ECONNREFUSED, ECONNRESET): an abort is classified by its close.
        this.once('error', (err: Error & { code?: string }) => {
          if (err.code !== undefined) fail(err.code === 'ECONNREFUSED' ? 'refused' : err.code);
        });
        this.once('close', () =>
          fail(
            record.tcpAt === undefined
              ? 'no TCP'
              : record.upgradeAt === undefined
                ? 'no upgrade'
                : 'no welcome',
          ),
        );
      }
    }
    return Traced as unknown as WebSocketConstructor;
  }

  /** Client `index` got its welcome: on the socket of its latest attempt. */
  welcomed(index: number): void {
    const last = this.byClient[index]?.at(-1);
    if (last !== undefined && last.failed === undefined) last.welcomeAt ??= Date.now();
  }

  summary(since: number, bucketMs: number): StormAttempts {
    const out = emptyAttempts();
    const bump = (series: number[], at: number | undefined) => {
      if (at === undefined) return;
      const i = Math.max(0, Math.floor((at - since) / bucketMs));
      while (series.length <= i) series.push(0);
      series[i] = (series[i] ?? 0) + 1;
    };
    for (const records of this.byClient) {
      for (const r of records ?? []) {
        if (r.start < since) continue;
        const outcome = r.welcomeAt !== undefined ? 'welcomed' : (r.failed ?? 'pending');
        out.outcomes[outcome] = (out.outcomes[outcome] ?? 0) + 1;
        bump(out.started, r.start);
        bump(out.connected, r.tcpAt);
        bump(out.upgraded, r.upgradeAt);
        bump(out.welcomed, r.welcomeAt);
        if (r.welcomeAt !== undefined && r.tcpAt !== undefined && r.upgradeAt !== undefined) {
          out.tcpMs.push(r.tcpAt - r.start);
          out.upgradeMs.push(r.upgradeAt - r.start);
          out.welcomeMs.push(r.welcomeAt - r.start);
        }
      }
    }
    return out;
  }
}

/** A summary with nothing in it yet. */
function emptyAttempts(): StormAttempts {
  return {
    outcomes: {},
    tcpMs: [],
    upgradeMs: [],
    welcomeMs: [],
    started: [],
    connected: [],
    upgraded: [],
    welcomed: [],
  };
}

/** Adds the summaries of several processes. */
export function mergeAttempts(parts: readonly StormAttempts[]): StormAttempts {
  const add = (a: number[], b: readonly number[]) => {
    for (const [i, v] of b.entries()) a[i] = (a[i] ?? 0) + v;
    return a;
  };
  const out = emptyAttempts();
  for (const p of parts) {
    for (const [k, n] of Object.entries(p.outcomes)) out.outcomes[k] = (out.outcomes[k] ?? 0) + n;
    out.tcpMs.push(...p.tcpMs);
    out.upgradeMs.push(...p.upgradeMs);
    out.welcomeMs.push(...p.welcomeMs);
    add(out.started, p.started);
    add(out.connected, p.connected);
    add(out.upgraded, p.upgraded);
    add(out.welcomed, p.welcomed);
  }
  // Sparse arrays from add(): holes become 0.
  for (const s of [out.started, out.connected, out.upgraded, out.welcomed]) {
    for (let i = 0; i < s.length; i += 1) s[i] ??= 0;
  }
  return out;
}

/** The q-quantile (0..1) of `values`, or null when empty. */
function quantile(values: readonly number[], q: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? null;
}

/** A restart's trace as series (per bucket) and metrics (phase times of the welcomed attempts). */
export function traceReport(
  kind: string,
  label: string,
  bucketMs: number,
  hub: HubTrace | undefined,
  attempts: StormAttempts,
): { series: Series[]; metrics: Metric[]; note: string } {
  const series: Series[] = [];
  const add = (key: string, what: string, values: number[] | undefined) => {
    if (values !== undefined)
      series.push({ key: `${kind}.${key}`, label: `${label}: ${what}`, bucketMs, values });
  };
  add('clientAttemptsPerBucket', 'client attempts started', attempts.started);
  add('clientTcpPerBucket', 'client TCP connects', attempts.connected);
  add('clientUpgradesPerBucket', 'client HTTP 101s', attempts.upgraded);
  add('clientWelcomesPerBucket', 'client welcomes', attempts.welcomed);
  add('serverTcpPerBucket', 'server TCP accepts', hub?.tcp);
  add('serverUpgradesPerBucket', 'server upgrade requests', hub?.upgrades);
  add('serverWelcomesPerBucket', 'server welcomes', hub?.welcomes);
  add('serverStallMsPerBucket', 'server event-loop stall (max ms)', hub?.stallMs);
  const metrics: Metric[] = [];
  for (const [key, values] of [
    ['tcp', attempts.tcpMs],
    ['upgrade', attempts.upgradeMs],
    ['welcome', attempts.welcomeMs],
  ] as const) {
    for (const [q, name] of [
      [0.5, 'p50'],
      [0.99, 'p99'],
      [1, 'max'],
    ] as const) {
      metrics.push({
        key: `${kind}.attempt.${key}${name.toUpperCase()}Ms`,
        label: `${label}: attempt start to ${key === 'tcp' ? 'TCP connect' : key === 'upgrade' ? 'HTTP 101' : 'welcome'} ${name}`,
        value: quantile(values, q),
        unit: 'ms',
      });
    }
  }
  const outcomes = Object.entries(attempts.outcomes)
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${k} ×${n}`)
    .join(', ');
  return { series, metrics, note: `${label}: client attempts: ${outcomes}` };
}
