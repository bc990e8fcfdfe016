import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AuditedClient } from '../../chaos/audited-client.js';
import { sumVerdicts } from '../../chaos/sequence-audit.js';
import { BENCH_DEFAULTS } from '../args.js';
import type { BenchHub } from '../hub.js';
import type { ScenarioContext, ScenarioResult } from '../scenario.js';
import { cpuPercent, type ProcessUsage } from '../usage.js';

/** Topic of the storm scenario. */
export const STORM_TOPIC = 'bench:storm';

/** After everyone is back, publishing goes on this long before the verdict. */
const AFTER_MS = 1_000;
/** How long the last publications may take to arrive everywhere. */
const SETTLE_MS = 10_000;
const CPU_SAMPLE_MS = 100;

/**
 * Reconnect storm: `--storm-clients` real Tether clients (default options) subscribe to a
 * topic that gets `stormRate` numbered publications per second; the server restarts
 * (drain: goodbye + 1012 with a jittered retry hint, stop, start on the same port), and
 * the clients come back. Reports the time until every client is open again, how many
 * resumed their session, the server's peak CPU meanwhile, and every publication lost,
 * duplicated or reordered. Runs its own hub: with `--store` as given, else a temporary
 * SQLite file, the durable mode in which a restart must lose nothing.
 */
export async function stormScenario(ctx: ScenarioContext): Promise<ScenarioResult> {
  const { args, progress } = ctx;
  const failures: string[] = [];
  const notes: string[] = [];
  const tempDir =
    args.store === undefined ? mkdtempSync(join(tmpdir(), 'tether-storm-')) : undefined;
  const store = args.store ?? (`sqlite:${join(tempDir as string, 'storm.db')}` as const);
  const durable = store !== 'memory';
  const hub = await ctx.startHub({ store });
  const clients = Array.from(
    { length: args.stormClients },
    (_, i) => new AuditedClient(`storm-${i + 1}`, hub.url),
  );
  try {
    progress.phase(`storm: connecting ${clients.length} clients`, clients.length * 5);
    await waitUntil(() => clients.every((c) => c.open), 30_000);
    const notOpen = clients.filter((c) => !c.open).length;
    if (notOpen > 0) failures.push(`${notOpen} clients did not connect`);
    await Promise.all(clients.map((c) => c.subscribe(STORM_TOPIC).catch(() => {})));

    const publisher = new Publisher(hub, 1000 / BENCH_DEFAULTS.stormRate);
    publisher.start();
    await sleep(1_000);

    progress.phase(
      'storm: restarting the server',
      args.stormRetryAfterMs * 2 + args.stormRetrySpreadMs * 2,
    );
    const sampler = new CpuSampler(hub);
    sampler.start();
    const restartAt = Date.now();
    await publisher.pause();
    await hub.restart({
      retryAfterMs: args.stormRetryAfterMs,
      retrySpreadMs: args.stormRetrySpreadMs,
    });
    const serverBackAt = Date.now();
    publisher.paused = false;
    const allBack = await waitUntil(
      () => clients.every((c) => c.open && c.lastOpenAt > restartAt),
      BENCH_DEFAULTS.stormTimeoutMs,
    );
    const allBackAt = Date.now();
    sampler.stop();
    if (!allBack) {
      const missing = clients.filter((c) => !(c.open && c.lastOpenAt > restartAt)).length;
      failures.push(`${missing} clients not back within ${BENCH_DEFAULTS.stormTimeoutMs / 1000} s`);
    }
    await sleep(AFTER_MS);
    await publisher.stop();
    progress.phase('storm: settling', SETTLE_MS);
    await waitUntil(() => clients.every((c) => c.pubs.complete(publisher.published)), SETTLE_MS);

    const verdict = sumVerdicts(clients.map((c) => c.pubs.verdict(publisher.published)));
    const resumed = clients.filter((c) => c.resumes > 0).length;
    const gaps = clients.reduce((sum, c) => sum + c.gaps, 0);
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
    if (durable && resumed < clients.length)
      failures.push(`${clients.length - resumed} clients did not resume their session`);
    notes.push(
      `store ${tempDir === undefined ? store : 'sqlite (temporary file)'}; retry hint ${args.stormRetryAfterMs} ms + up to ${args.stormRetrySpreadMs} ms, then the client's jitter`,
    );
    return {
      scenario: 'storm',
      metrics: [
        { key: 'clients', label: 'clients', value: clients.length, unit: '' },
        {
          key: 'restartMs',
          label: 'server restart (drain, stop, start)',
          value: serverBackAt - restartAt,
          unit: 'ms',
        },
        {
          key: 'allBackMs',
          label: 'time until all resumed',
          value: allBackAt - restartAt,
          unit: 'ms',
        },
        { key: 'resumed', label: 'sessions resumed', value: resumed, unit: '' },
        { key: 'peakServerCpuPercent', label: 'peak server CPU', value: sampler.peak, unit: '%' },
        { key: 'published', label: 'publications', value: publisher.published, unit: '' },
        { key: 'delivered', label: 'delivered', value: verdict.delivered, unit: '' },
        { key: 'lost', label: 'lost', value: verdict.lost, unit: '' },
        { key: 'duplicated', label: 'duplicated', value: verdict.duplicated, unit: '' },
        { key: 'reordered', label: 'reordered', value: verdict.reordered, unit: '' },
        { key: 'gapSignals', label: 'gap signals', value: gaps, unit: '' },
      ],
      failures,
      notes,
    };
  } finally {
    await Promise.all(clients.map((c) => c.close().catch(() => {})));
    await hub.close();
    if (tempDir !== undefined) rmSync(tempDir, { recursive: true, force: true });
  }
}

/** Polls `check` every 20 ms until true or `timeoutMs`; resolves with the last result. */
async function waitUntil(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) return false;
    await sleep(20);
  }
  return true;
}

/** Publishes numbered messages at a steady rate, one at a time, skipping while paused. */
class Publisher {
  /** The publish in flight, if any: a restart waits for it (its number must not be reused). */
  private inFlight: Promise<unknown> = Promise.resolve();
  published = 0;
  /** Publishes the server refused (none expected: the publisher pauses during the restart). */
  failed = 0;
  paused = false;
  private running = false;
  private loop: Promise<void> = Promise.resolve();

  constructor(
    private readonly hub: BenchHub,
    private readonly intervalMs: number,
  ) {}

  start(): void {
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        if (!this.paused) {
          const n = this.published + 1;
          this.inFlight = this.hub.publish({
            topic: STORM_TOPIC,
            count: 1,
            payloadBytes: 16,
            first: n,
          });
          const ok = await this.inFlight.then(
            () => true,
            () => false,
          );
          if (ok) this.published = n;
          else this.failed += 1;
        }
        await sleep(this.intervalMs);
      }
    })();
  }

  /** Stops publishing once the publish in flight has settled. */
  async pause(): Promise<void> {
    this.paused = true;
    await this.inFlight.catch(() => {});
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }
}

/** Samples the server's CPU; `peak` is the highest share of one core over one interval. */
class CpuSampler {
  peak = 0;
  private running = false;
  private loop: Promise<void> = Promise.resolve();

  constructor(private readonly hub: BenchHub) {}

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
        }
        last = now;
        await sleep(CPU_SAMPLE_MS);
      }
    })();
  }

  stop(): void {
    this.running = false;
    void this.loop;
  }
}
