import cluster, { type Worker } from 'node:cluster';
import type { Disposer } from '@tether/common';
import { WORKER_SLOT_ENV } from './cluster-messages.js';
import { ClusterOps, send } from './cluster-ops.js';
import type { WorkerSlotState } from './cluster-stats.js';
import type { HubConfig } from './config-types.js';
import type { HubIo } from './hub.js';
import type { SignalSource } from './serve.js';

/**
 * The primary of `tether serve --workers N` (Node `cluster`): forks N workers that each
 * run the whole hub on the shared port (the primary holds no WebSocket connection; on
 * Linux it accepts and hands each connection to a worker in turn), replaces a worker
 * that dies (backing off when they die in a row: a crash loop must not fork forever),
 * answers the workers' questions about the whole (cluster-ops.ts), and on SIGTERM or
 * SIGINT drains every worker (each with the retry hints of a single hub's drain, so the
 * reconnects spread) and resolves once all have exited. A second signal kills them.
 *
 * The workers run the script the primary runs (the `tether` binary), with its arguments:
 * they resolve the same configuration and see {@link WORKER_SLOT_ENV}.
 */

/** Restart back-off of dying workers. */
export const CLUSTER_DEFAULTS = {
  /** Exits within this window count as "in a row". */
  crashWindowMs: 60_000,
  /** The first replacement starts at once; each further exit in the window doubles from this. */
  restartBaseDelayMs: 250,
  /** The longest wait before a replacement. */
  restartMaxDelayMs: 30_000,
  /** After the drain timeout, this long again before remaining workers are killed. */
  drainGraceMs: 30_000,
} as const;

/**
 * The slot of this process when it is a worker forked by {@link startHubCluster}; else
 * undefined (also under another program's own cluster).
 */
export function workerSlot(
  env: Readonly<Record<string, string | undefined>> = process.env,
): number | undefined {
  if (!cluster.isWorker) return undefined;
  const slot = Number(env[WORKER_SLOT_ENV]);
  return Number.isInteger(slot) && slot >= 1 ? slot : undefined;
}

/**
 * How long the primary waits before replacing a worker, given the worker exits within
 * {@link CLUSTER_DEFAULTS.crashWindowMs} (this one included): the first at once, then
 * doubling from {@link CLUSTER_DEFAULTS.restartBaseDelayMs} up to the maximum.
 */
export function restartDelayMs(exitsInWindow: number): number {
  if (exitsInWindow <= 1) return 0;
  return Math.min(
    CLUSTER_DEFAULTS.restartMaxDelayMs,
    CLUSTER_DEFAULTS.restartBaseDelayMs * 2 ** Math.min(exitsInWindow - 2, 30),
  );
}

/** Options of {@link startHubCluster}. */
export interface HubClusterOptions {
  io: HubIo;
  signals: SignalSource;
  /** Ends the process at once (a second signal). */
  exit: (code: number) => void;
}

/** A running cluster. */
export interface HubCluster {
  /** Resolves with the exit status once every worker has exited after a shutdown. */
  readonly closed: Promise<number>;
  /** Drains every worker (what SIGTERM does). */
  close(): void;
}

interface Slot {
  slot: number;
  worker: Worker | undefined;
  listening: boolean;
  restarts: number;
  timer: NodeJS.Timeout | undefined;
}

/** Forks the workers; resolves once all listen (rejects when one exits before any listened). */
export async function startHubCluster(
  config: HubConfig,
  options: HubClusterOptions,
): Promise<HubCluster> {
  const { io } = options;
  const slots: Slot[] = Array.from({ length: config.workers }, (_, i) => ({
    slot: i + 1,
    worker: undefined,
    listening: false,
    restarts: 0,
    timer: undefined,
  }));
  const exits: number[] = [];
  let shuttingDown = false;
  let everListened = false;
  let failedCode = 0;
  let resolveClosed: (code: number) => void = () => {};
  const closed = new Promise<number>((done) => {
    resolveClosed = done;
  });
  let started: { resolve: (url: string) => void; reject: (err: Error) => void } | undefined;
  const startedUrl = new Promise<string>((resolve, reject) => {
    started = { resolve, reject };
  });
  const states = (): WorkerSlotState[] =>
    slots.map((s) => ({
      slot: s.slot,
      pid: s.worker?.process.pid ?? 0,
      state: s.worker === undefined ? 'restarting' : s.listening ? 'running' : 'starting',
      restarts: s.restarts,
    }));
  const ops = new ClusterOps(
    () =>
      slots.flatMap((s) => (s.worker === undefined ? [] : [{ slot: s.slot, worker: s.worker }])),
    states,
    () => (shuttingDown ? 'draining' : 'running'),
  );
  const label = (s: Slot, w: Worker): string => `worker ${s.slot} (pid ${w.process.pid})`;

  const fork = (s: Slot): void => {
    s.timer = undefined;
    const worker = cluster.fork({ [WORKER_SLOT_ENV]: String(s.slot) });
    s.worker = worker;
    s.listening = false;
    worker.on('message', (message: unknown) => {
      const listening = ops.onMessage(s.slot, worker, message);
      if (listening === undefined) return;
      s.listening = true;
      if (!everListened && slots.every((x) => x.listening)) {
        everListened = true;
        started?.resolve(listening);
      }
    });
    worker.once('exit', (code, signal) => onExit(s, worker, code, signal));
  };

  const onExit = (s: Slot, worker: Worker, code: number | null, signal: string | null): void => {
    if (s.worker !== worker) return;
    s.worker = undefined;
    s.listening = false;
    const how = signal === null ? `code ${code}` : `signal ${signal}`;
    if (shuttingDown) {
      if (code !== 0) failedCode = 1;
      io.stderr(`tether: ${label(s, worker)} stopped (${how})`);
      if (slots.every((x) => x.worker === undefined)) finish();
      return;
    }
    if (!everListened) {
      // A hub that cannot start (port taken, store unreachable at start) fails the same
      // way in every worker: exit instead of forking forever.
      shuttingDown = true;
      for (const other of slots) other.worker?.process.kill('SIGKILL');
      started?.reject(new Error(`${label(s, worker)} exited (${how}) before listening`));
      return;
    }
    const now = Date.now();
    exits.push(now);
    while ((exits[0] ?? now) < now - CLUSTER_DEFAULTS.crashWindowMs) exits.shift();
    const inARow = exits.length;
    const delay = restartDelayMs(inARow);
    s.restarts += 1;
    ops.countRestart();
    io.stderr(
      `tether: ${label(s, worker)} exited (${how}); replacing it in ${delay} ms (${inARow} worker exits in the last ${CLUSTER_DEFAULTS.crashWindowMs / 1000} s)`,
    );
    s.timer = setTimeout(() => fork(s), delay);
  };

  let killTimer: NodeJS.Timeout | undefined;
  const finish = (): void => {
    if (killTimer !== undefined) clearTimeout(killTimer);
    disposeSignals();
    ops.dispose();
    resolveClosed(failedCode);
  };
  const close = (): void => {
    if (shuttingDown) return;
    shuttingDown = true;
    for (const s of slots) {
      if (s.timer !== undefined) clearTimeout(s.timer);
      s.timer = undefined;
    }
    const running = slots.filter((s) => s.worker !== undefined);
    if (running.length === 0) {
      finish();
      return;
    }
    for (const s of running) if (s.worker !== undefined) send(s.worker, { tether: 'drain' });
    // A worker whose drain hangs must not keep the primary forever.
    killTimer = setTimeout(() => {
      for (const s of slots) {
        if (s.worker === undefined) continue;
        io.stderr(`tether: ${label(s, s.worker)} did not finish its drain; killing it`);
        failedCode = 1;
        s.worker.process.kill('SIGKILL');
      }
    }, config.drainTimeoutMs + CLUSTER_DEFAULTS.drainGraceMs);
    killTimer.unref();
  };

  let received = false;
  const onSignal = (signal: 'SIGTERM' | 'SIGINT') => (): void => {
    if (received) {
      io.stderr(`tether: ${signal} again, killing the workers without waiting for the drain`);
      for (const s of slots) s.worker?.process.kill('SIGKILL');
      options.exit(1);
      return;
    }
    received = true;
    io.stderr(`tether: ${signal} received, draining ${config.workers} workers`);
    close();
  };
  const onTerm = onSignal('SIGTERM');
  const onInt = onSignal('SIGINT');
  options.signals.on('SIGTERM', onTerm);
  options.signals.on('SIGINT', onInt);
  const disposeSignals: Disposer = () => {
    options.signals.off('SIGTERM', onTerm);
    options.signals.off('SIGINT', onInt);
  };

  for (const s of slots) fork(s);
  try {
    const url = await startedUrl;
    io.stdout(
      `tether listening on ${url} (ws: /ws) with ${config.workers} workers (primary pid ${process.pid})`,
    );
  } catch (err) {
    disposeSignals();
    ops.dispose();
    throw err;
  }
  return { closed, close };
}
