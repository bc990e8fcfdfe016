import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CLIENT_DEFAULTS } from '@tether/client';
import { restartSpreadMs, SERVER_DEFAULTS } from '@tether/server';
import { waitUntil } from '../../wait-until.js';
import { BENCH_DEFAULTS, type BenchArgs, stormRateFor, stormWorkersFor } from '../args.js';
import type { BenchHub } from '../hub.js';
import { NumberedPublisher } from '../numbered-publisher.js';
import {
  type Metric,
  reasons,
  type ScenarioContext,
  type ScenarioResult,
  type Series,
} from '../scenario.js';
import { StormClients, type StormFleet, type StormOpens } from '../storm-fleet.js';
import { traceReport } from '../storm-trace.js';
import { cpuPercent, type ProcessUsage } from '../usage.js';
import { WORKER_ENTRY, WorkerPool } from '../worker-pool.js';

/** Topic of the storm scenario. */
export const STORM_TOPIC = 'bench:storm';

/** After everyone is back, publishing goes on this long before the verdict. */
const AFTER_MS = 1_000;
/** How long the last publications may take to arrive everywhere. */
const SETTLE_MS = 10_000;
const CPU_SAMPLE_MS = 100;
const STATUS_POLL_MS = 100;
/**
 * Scheduling priority of the storm's client processes. On a machine they share with the
 * hub, the clients at the same priority took most of the CPU and left the hub ~35-45 % of
 * one core: connections waited in its accept queue past the clients' connect timeout
 * (at 10,000 clients 4,000-5,000 attempts ended with no HTTP 101). At 5 the hub is
 * served first; far lower and the clients handle their welcomes after their own timeout.
 */
export const STORM_WORKER_NICE = 5;
/** Width of one bucket of the reconnect curve. */
export const STORM_BUCKET_MS = 250;

type PhaseKind = 'graceful' | 'kill';

/**
 * Reconnect storm: `--storm-clients` real Tether clients (default options), spread over
 * worker processes and loopback source addresses, subscribe to a topic that gets
 * `stormRate` numbered publications per second. Then the server restarts, once drained
 * (goodbye + 1012 with a jittered retry hint: the hints spread the reconnects) and once
 * killed (SIGKILL of the hub child: no hint, the clients' backoff jitter alone spreads
 * them), and the clients come back. Per restart: the time until every session resumed,
 * the reconnect curve (resumes per 250 ms), the server's CPU and event-loop delay
 * meanwhile; over the run: every publication lost, duplicated or reordered. Runs its own
 * hub: with `--store` as given, else a temporary SQLite file, the durable mode in which a
 * restart must lose nothing.
 */
export async function stormScenario(ctx: ScenarioContext): Promise<ScenarioResult> {
  const { args, progress } = ctx;
  const failures: string[] = [];
  const notes: string[] = [];
  const metrics: Metric[] = [];
  const series: Series[] = [];
  const tempDir =
    args.store === undefined ? mkdtempSync(join(tmpdir(), 'tether-storm-')) : undefined;
  const store = args.store ?? (`sqlite:${join(tempDir as string, 'storm.db')}` as const);
  const durable = store !== 'memory';
  let hub: BenchHub | undefined;
  let pool: WorkerPool | undefined;
  let fleet: StormFleet | undefined;
  try {
    hub = await ctx.startBenchHub({ store });
    const workers = stormWorkersFor(args, existsSync(WORKER_ENTRY));
    pool = workers > 0 ? await WorkerPool.start(workers, undefined, STORM_WORKER_NICE) : undefined;
    fleet = pool?.storm() ?? new StormClients();
    const total = args.stormClients;
    progress.phase(`storm: connecting ${total} clients`, total * 5);
    const opened = await fleet.open({
      url: hub.url,
      count: total,
      addresses: ctx.addresses,
      prefix: 'storm-',
      timeoutMs: 60_000,
    });
    if (opened < total) failures.push(`${total - opened} clients did not connect`);
    const subscribed = await fleet.subscribe(STORM_TOPIC, 60_000);
    if (subscribed < total) failures.push(`${total - subscribed} clients did not subscribe`);
    metrics.push(
      { key: 'clients', label: 'clients', value: total, unit: '' },
      { key: 'workers', label: 'client processes', value: Math.max(1, workers), unit: '' },
      { key: 'addresses', label: 'source addresses', value: ctx.addresses.length, unit: '' },
      {
        key: 'workerNice',
        label: 'client process priority (nice)',
        value: pool === undefined ? null : Math.min(...pool.priorities()),
        unit: '',
      },
    );

    const rate = stormRateFor(args);
    metrics.push({ key: 'rate', label: 'publications per second', value: rate, unit: '/s' });
    const publisher = new NumberedPublisher(hub, STORM_TOPIC, 1000 / rate);
    publisher.start();
    await sleep(1_000);
    const kinds: PhaseKind[] =
      args.stormRestart === 'both' ? ['graceful', 'kill'] : [args.stormRestart];
    for (const [i, kind] of kinds.entries()) {
      if (i > 0) {
        // Clients reset their reconnect counter after minUptimeMs of stable connection:
        // the crash meets clients that have been up a while, as a real one does.
        await sleep(CLIENT_DEFAULTS.minUptimeMs + 500);
      }
      progress.phase(`storm: ${kind} restart`, stormDeadlineMs(kind, args));
      const phase = await restartPhase(kind, { args, hub, fleet, publisher, durable, total });
      metrics.push(...phase.metrics);
      series.push(phase.curve, ...phase.traceSeries);
      notes.push(phase.traceNote);
      failures.push(...phase.failures);
    }
    await sleep(AFTER_MS);
    await publisher.stop();
    progress.phase('storm: settling', SETTLE_MS);
    const settling = fleet;
    await waitUntil(() => settling.complete(publisher.published), SETTLE_MS, 50);

    const { verdict, gaps } = await fleet.audit(publisher.published);
    if (publisher.failed > 0) failures.push(`${publisher.failed} publishes failed`);
    if (verdict.duplicated > 0) failures.push(`${verdict.duplicated} publications delivered twice`);
    if (verdict.reordered > 0) failures.push(`${verdict.reordered} publications out of order`);
    if (verdict.unexpected > 0) failures.push(`${verdict.unexpected} unexpected publications`);
    if (verdict.lost > 0) {
      if (durable || gaps === 0) {
        failures.push(`${verdict.lost} publications lost (${gaps} gap signals)`);
      } else {
        notes.push(
          `memory store: the restart started a new topic epoch; ${verdict.lost} publications missed, each client told by a gap signal (${gaps})`,
        );
      }
    }
    metrics.push(
      { key: 'published', label: 'publications', value: publisher.published, unit: '' },
      { key: 'delivered', label: 'delivered', value: verdict.delivered, unit: '' },
      { key: 'lost', label: 'lost', value: verdict.lost, unit: '' },
      { key: 'duplicated', label: 'duplicated', value: verdict.duplicated, unit: '' },
      { key: 'reordered', label: 'reordered', value: verdict.reordered, unit: '' },
      { key: 'gapSignals', label: 'gap signals', value: gaps, unit: '' },
    );
    notes.push(
      `store ${tempDir === undefined ? store : 'sqlite (temporary file)'}; ${rate} publications/s (${Math.round(rate * total)} deliveries/s); graceful: retry hint ${args.stormRetryAfterMs} ms + up to ${args.stormRetrySpreadMs === undefined ? "the server's spread (4 s, or 1 s per 1,000 connections)" : `${args.stormRetrySpreadMs} ms`}, then the client's spread; kill: no hint, the client's backoff jitter (max ${CLIENT_DEFAULTS.maxReconnectDelayMs} ms)`,
    );
    return { scenario: 'storm', metrics, failures, notes, series };
  } finally {
    await fleet?.close().catch(() => {});
    await pool?.stop();
    await hub?.close().catch(() => {});
    if (tempDir !== undefined) rmSync(tempDir, { recursive: true, force: true });
  }
}

/**
 * How long the clients may take after a restart begins. Graceful: every client gets a
 * hint in [retryAfter, retryAfter + spread] and waits up to hint × (1 + retryAfterSpread)
 * (at least hint + minReconnectDelay); kill: up to the client's maximum backoff. Plus
 * {@link BENCH_DEFAULTS.stormSlackMs} for the server's restart and the handshakes.
 * `maxHintMs`: the largest hint the clients were given (the hinted window is theirs);
 * before the restart, the one the server will give: `--retry-spread`, or the server's
 * own spread for this many clients.
 */
export function stormDeadlineMs(
  kind: PhaseKind,
  args: BenchArgs,
  maxHintMs: number | null = null,
): number {
  if (kind === 'kill') return CLIENT_DEFAULTS.maxReconnectDelayMs + BENCH_DEFAULTS.stormSlackMs;
  const spread =
    args.stormRetrySpreadMs ??
    restartSpreadMs(args.stormClients, SERVER_DEFAULTS.restartReconnectRate);
  const hint = maxHintMs ?? args.stormRetryAfterMs + spread;
  const window = Math.max(
    hint + CLIENT_DEFAULTS.minReconnectDelayMs,
    hint * (1 + CLIENT_DEFAULTS.retryAfterSpread),
  );
  return window + BENCH_DEFAULTS.stormSlackMs;
}

/** Resumes per bucket of `bucketMs` after `since`, up to the last open. */
export function reconnectCurve(firstOpenAt: readonly number[], since: number, bucketMs: number) {
  const counts: number[] = [];
  for (const at of firstOpenAt) {
    const bucket = Math.max(0, Math.floor((at - since) / bucketMs));
    while (counts.length <= bucket) counts.push(0);
    counts[bucket] = (counts[bucket] ?? 0) + 1;
  }
  return counts;
}

interface PhaseResult {
  metrics: Metric[];
  curve: Series;
  /** Where the attempts spent their time (see storm-trace.ts). */
  traceSeries: Series[];
  traceNote: string;
  failures: string[];
}

async function restartPhase(
  kind: PhaseKind,
  run: {
    args: BenchArgs;
    hub: BenchHub;
    fleet: StormFleet;
    publisher: NumberedPublisher;
    durable: boolean;
    total: number;
  },
): Promise<PhaseResult> {
  const { args, hub, fleet, publisher, durable, total } = run;
  const failures: string[] = [];
  const sampler = new CpuSampler(hub);
  sampler.start();
  const restartAt = Date.now();
  await publisher.pause();
  await hub.restart({
    retryAfterMs: args.stormRetryAfterMs,
    retrySpreadMs: args.stormRetrySpreadMs,
    crash: kind === 'kill',
  });
  const serverBackAt = Date.now();
  // The new server's event-loop delay from its start (a child hub starts a new interval;
  // in process, this drops what came before the restart).
  if (hub.kind === 'in-process') await hub.loopDelay();
  publisher.resume();
  let back = 0;
  let notBack: Record<string, number> = {};
  for (;;) {
    const status = await fleet.status(restartAt);
    back = status.back;
    notBack = status.notBack;
    if (back >= total || Date.now() - restartAt > BENCH_DEFAULTS.stormTimeoutMs) break;
    await sleep(STATUS_POLL_MS);
  }
  await sampler.stop();
  const loop = await hub.loopDelay().catch(() => undefined);
  const opens: StormOpens = await fleet.opens(restartAt);
  const deadlineMs = stormDeadlineMs(kind, args, opens.maxHintMs);
  if (kind === 'graceful' && opens.maxHintMs === null) {
    failures.push('graceful: no client was given a retry hint');
  }
  const lastOpen = opens.firstOpenAt.reduce((a, b) => Math.max(a, b), restartAt);
  const allBackMs = back >= total ? lastOpen - restartAt : null;
  const counts = reconnectCurve(opens.firstOpenAt, restartAt, STORM_BUCKET_MS);
  const peakRate = counts.reduce((a, b) => Math.max(a, b), 0) * (1000 / STORM_BUCKET_MS);
  if (allBackMs === null) {
    failures.push(
      `${kind}: ${total - back} clients not back within ${BENCH_DEFAULTS.stormTimeoutMs / 1000} s (${reasons(notBack)})`,
    );
  } else if (allBackMs > deadlineMs) {
    failures.push(
      `${kind}: all back after ${(allBackMs / 1000).toFixed(1)} s, past the deadline of ${(deadlineMs / 1000).toFixed(1)} s`,
    );
  }
  if (durable && opens.resumed < total) {
    failures.push(`${kind}: ${total - opens.resumed} clients did not resume their session`);
  }
  const label = kind === 'graceful' ? 'graceful restart' : 'SIGKILL';
  const trace = traceReport(
    kind,
    label,
    STORM_BUCKET_MS,
    await hub.trace(restartAt, STORM_BUCKET_MS).catch(() => undefined),
    await fleet.attempts(restartAt, STORM_BUCKET_MS),
  );
  const m = (key: string, what: string, value: number | null, unit: string): Metric => ({
    key: `${kind}.${key}`,
    label: `${label}: ${what}`,
    value,
    unit,
  });
  return {
    failures,
    traceSeries: trace.series,
    traceNote: trace.note,
    curve: {
      key: `${kind}.resumesPerBucket`,
      label: `${label}: resumes per ${STORM_BUCKET_MS} ms after the restart began`,
      bucketMs: STORM_BUCKET_MS,
      values: counts,
    },
    metrics: [
      m('restartMs', 'server down and up again', serverBackAt - restartAt, 'ms'),
      m('allBackMs', 'time until all resumed', allBackMs, 'ms'),
      m('maxHintMs', 'largest retry hint given', opens.maxHintMs, 'ms'),
      m('deadlineMs', 'deadline', deadlineMs, 'ms'),
      m('resumed', 'sessions resumed', opens.resumed, ''),
      m('notResumed', 'sessions lost (told)', opens.notResumed, ''),
      m('peakReconnectsPerSec', 'peak reconnect rate', peakRate, '/s'),
      m('serverCpuPeakPercent', 'server CPU peak', sampler.peak, '%'),
      m('serverCpuMeanPercent', 'server CPU mean', sampler.mean, '%'),
      m('loopDelayP50Ms', 'server event-loop delay p50', loop?.p50Ms ?? null, 'ms'),
      m('loopDelayP99Ms', 'server event-loop delay p99', loop?.p99Ms ?? null, 'ms'),
      m('loopDelayMaxMs', 'server event-loop delay max', loop?.maxMs ?? null, 'ms'),
      ...trace.metrics,
    ],
  };
}

/**
 * Samples the server's CPU every 100 ms: `peak` is the highest share of one core over one
 * interval, `mean` the share over all intervals. A sample that fails (the server is
 * between processes) is skipped, as is the interval across a restart.
 */
class CpuSampler {
  peak = 0;
  private cpuMs = 0;
  private wallMs = 0;
  private running = false;
  private loop: Promise<void> = Promise.resolve();

  constructor(private readonly hub: BenchHub) {}

  get mean(): number {
    return this.wallMs <= 0 ? 0 : Math.round((this.cpuMs / this.wallMs) * 1000) / 10;
  }

  start(): void {
    this.running = true;
    this.loop = (async () => {
      let last: ProcessUsage | undefined;
      while (this.running) {
        const now = await this.hub.usage().catch(() => undefined);
        // A restarted child starts its counters at zero: skip the interval across it.
        if (
          now !== undefined &&
          last !== undefined &&
          now.cpuMs >= last.cpuMs &&
          now.atMs > last.atMs
        ) {
          this.peak = Math.max(this.peak, cpuPercent(last, now));
          this.cpuMs += now.cpuMs - last.cpuMs;
          this.wallMs += now.atMs - last.atMs;
        }
        last = now;
        await sleep(CPU_SAMPLE_MS);
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }
}
