import { type ChildProcess, fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { STORE_DEFAULTS } from '@tether/server';
import { IpcPeer } from '../bench/ipc.js';
import { waitReady } from '../bench/worker-pool.js';
import { runCycle } from './cycle.js';
import { type SoakCheck, type SoakChildConfig, type SoakSnapshot, soakChecks } from './verdict.js';

/**
 * The soak: many connect → hello → subscribe → receive → reliable send → disconnect cycles
 * in parallel against a server child while a publisher keeps messages flowing, bounded by
 * a cycle count and a duration (whichever comes first). The server's memory is measured
 * idle, after a full GC, twice: after the warm-up and after the run; between them it must
 * not grow past the tolerance, and after them every registry must be back to zero.
 */

export interface SoakOptions {
  /** Stop after this many cycles (warm-up included). */
  cycles: number;
  /** Stop after this long (warm-up included), ms. */
  durationMs: number;
  /** Cycles running at the same time. */
  concurrency: number;
  /** Cycles of the warm-up, before the baseline is measured. */
  warmupCycles: number;
  /** The server's store; `sqlite`: a file in a temporary directory, removed at the end. */
  store: 'memory' | 'sqlite';
  /** The server's resume window, ms: short, so sessions left behind expire within the run. */
  resumeWindowMs: number;
  /** One cycle in this many drops its socket instead of closing it (1006). */
  abruptEvery: number;
  /** Allowed growth of RSS and heap over the baseline, as a fraction. */
  memoryTolerance: number;
  /** Deadline of one cycle, ms. */
  cycleTimeoutMs: number;
}

export const SOAK_DEFAULTS: SoakOptions = {
  cycles: 50_000,
  durationMs: 120_000,
  concurrency: 50,
  warmupCycles: 2_000,
  store: 'memory',
  resumeWindowMs: 1_000,
  abruptEvery: 4,
  memoryTolerance: 0.1,
  cycleTimeoutMs: 10_000,
};

export interface SoakResult {
  ok: boolean;
  /** Cycles completed, warm-up included. */
  cycles: number;
  failedCycles: number;
  /** The first few failures, with the step each failed at. */
  failures: string[];
  /** Seconds of the measured phase (after the baseline). */
  elapsedS: number;
  cyclesPerS: number;
  baseline: SoakSnapshot;
  end: SoakSnapshot;
  checks: SoakCheck[];
}

const CHILD_ENTRY = fileURLToPath(new URL('./child.js', import.meta.url));
const TOPIC = 'soak';
/** Publications per second the child makes (one every 10 ms). */
const PUBLISH_EVERY_MS = 10;
/** How long the server gets, past the resume window, to become idle before a measurement. */
const SETTLE_MARGIN_MS = 30_000;
/** Memory is steady when RSS has not fallen for this long. */
const STEADY_MS = 3_000;
const SETTLE_POLL_MS = 250;
const MAX_FAILURES_LISTED = 10;

async function startChild(
  options: SoakOptions,
  dir: string,
): Promise<{ child: ChildProcess; peer: IpcPeer; url: string }> {
  const config: SoakChildConfig = {
    store: options.store === 'sqlite' ? `sqlite:${join(dir, 'soak.db')}` : 'memory',
    resumeWindowMs: options.resumeWindowMs,
    topic: TOPIC,
    publishEveryMs: PUBLISH_EVERY_MS,
    prefill: STORE_DEFAULTS.historyMaxCount,
  };
  const child = fork(CHILD_ENTRY, [JSON.stringify(config)], {
    execArgv: ['--expose-gc'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  try {
    const ready = await waitReady<{ ready: true; url: string }>(child, 'soak server');
    return { child, peer: new IpcPeer(child, 'soak server'), url: ready.url };
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
}

function memoryLine(s: SoakSnapshot): string {
  const mib = (bytes: number): string => (bytes / 1_048_576).toFixed(1);
  return `rss ${mib(s.rssBytes)} MiB, heap ${mib(s.heapUsedBytes)} MiB, external ${mib(s.externalBytes)} MiB`;
}

const pause = (ms: number): Promise<void> =>
  new Promise<void>((resolve) => {
    setTimeout(resolve, ms);
  });

/**
 * Waits until the server holds no connection, session or subscription, then until its
 * memory is steady: V8 gives the heap it grew under load back to the system only after a
 * few idle collections, so RSS right after the last client left still holds the peak of
 * the load, not what the server keeps. Steady: RSS has not fallen by more than 1 % over
 * the last {@link STEADY_MS}. Bounded by the resume window plus {@link SETTLE_MARGIN_MS}.
 */
async function settle(peer: IpcPeer, options: SoakOptions): Promise<SoakSnapshot> {
  const deadline = Date.now() + options.resumeWindowMs + SETTLE_MARGIN_MS;
  let snapshot = await peer.call<SoakSnapshot>('snapshot');
  const idle = (s: SoakSnapshot): boolean =>
    s.connections === 0 && s.sessions === 0 && s.storedSessions === 0 && s.subscriptions === 0;
  while (!idle(snapshot) && Date.now() < deadline) {
    await pause(SETTLE_POLL_MS);
    snapshot = await peer.call<SoakSnapshot>('snapshot');
  }
  const recent: Array<{ at: number; rss: number }> = [];
  while (Date.now() < deadline) {
    recent.push({ at: Date.now(), rss: snapshot.rssBytes });
    while (recent.length > 1 && (recent[0]?.at ?? 0) < Date.now() - STEADY_MS) recent.shift();
    const oldest = recent[0];
    if (
      oldest !== undefined &&
      Date.now() - oldest.at >= STEADY_MS * 0.9 &&
      snapshot.rssBytes >= oldest.rss * 0.99
    ) {
      break;
    }
    await pause(SETTLE_POLL_MS);
    snapshot = await peer.call<SoakSnapshot>('snapshot');
  }
  return snapshot;
}

/** Runs cycles with `concurrency` lanes until `count` were started or `until` passed. */
async function runCycles(
  url: string,
  options: SoakOptions,
  count: number,
  until: number,
  tally: { done: number; failed: number; failures: string[] },
): Promise<void> {
  let started = 0;
  const lane = async (): Promise<void> => {
    while (started < count && Date.now() < until) {
      const n = started;
      started += 1;
      try {
        await runCycle({
          url,
          topic: TOPIC,
          timeoutMs: options.cycleTimeoutMs,
          abrupt: options.abruptEvery > 0 && n % options.abruptEvery === 0,
        });
        tally.done += 1;
      } catch (err) {
        tally.failed += 1;
        if (tally.failures.length < MAX_FAILURES_LISTED)
          tally.failures.push((err as Error).message);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency) }, () => lane()));
}

export async function runSoak(
  options: SoakOptions,
  progress: (line: string) => void = () => {},
): Promise<SoakResult> {
  const started = Date.now();
  const until = started + options.durationMs;
  const dir = mkdtempSync(join(tmpdir(), 'tether-soak-'));
  try {
    return await soakWith(options, until, dir, progress);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function soakWith(
  options: SoakOptions,
  until: number,
  dir: string,
  progress: (line: string) => void,
): Promise<SoakResult> {
  const { child, peer, url } = await startChild(options, dir);
  const tally = { done: 0, failed: 0, failures: [] as string[] };
  try {
    // The warm-up never takes more than a fifth of the cycles: a short run still measures.
    const warmup = Math.min(options.warmupCycles, Math.floor(options.cycles / 5));
    await runCycles(url, options, warmup, until, tally);
    const baseline = await settle(peer, options);
    progress(`warm-up: ${tally.done} cycles; baseline ${memoryLine(baseline)}`);
    const measuredFrom = Date.now();
    const report = setInterval(() => {
      peer.call<SoakSnapshot>('usage').then(
        (now) => progress(`${tally.done} cycles, ${tally.failed} failed; ${memoryLine(now)}`),
        () => {},
      );
    }, 10_000);
    report.unref();
    try {
      await runCycles(url, options, options.cycles - warmup, until, tally);
    } finally {
      clearInterval(report);
    }
    const elapsedS = (Date.now() - measuredFrom) / 1000;
    const end = await settle(peer, options);
    const checks = soakChecks(baseline, end, { memoryTolerance: options.memoryTolerance });
    checks.push({
      name: 'cycles',
      ok: tally.failed === 0 && tally.done > warmup,
      detail: `${tally.done} completed, ${tally.failed} failed`,
    });
    return {
      ok: checks.every((check) => check.ok),
      cycles: tally.done,
      failedCycles: tally.failed,
      failures: tally.failures,
      elapsedS,
      cyclesPerS: Math.round((tally.done - warmup) / Math.max(elapsedS, 0.001)),
      baseline,
      end,
      checks,
    };
  } finally {
    await stopChild(child, peer);
  }
}

/** Asks the child to drain and exit; SIGKILL when it has not exited 10 s later. */
async function stopChild(child: ChildProcess, peer: IpcPeer): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await peer.call('close', {}, 10_000).catch(() => {});
  await exited;
  clearTimeout(kill);
}
