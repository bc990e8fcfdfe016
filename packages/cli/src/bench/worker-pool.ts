import { type ChildProcess, fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';
import { fileURLToPath } from 'node:url';
import { pinnedFork } from './affinity.js';
import { LatencyRecorder } from './histogram.js';
import { IpcPeer } from './ipc.js';
import type { ClientPool, EchoOptions, EchoResult, OpenOptions, OpenResult } from './pool.js';
import {
  mergeStorm,
  type StormAudit,
  type StormFleet,
  type StormOpenOptions,
  type StormOpens,
  type StormStatus,
} from './storm-fleet.js';
import { mergeAttempts, type StormAttempts } from './storm-trace.js';
import type { ProcessUsage } from './usage.js';

/**
 * A {@link ClientPool} spread over worker processes. One process can hold only so many
 * sockets (this machine allows 20,000 open files per process) and one event loop only
 * so much load; workers lift both limits. Needs the built CLI (`npm run build`).
 */

/** Path of the compiled worker entry next to this file. */
export const WORKER_ENTRY = fileURLToPath(new URL('./worker.js', import.meta.url));

/** How long a worker may take to start. */
const WORKER_START_MS = 15_000;

/** Splits `total` into `parts` near-equal integers (the first ones get the remainder). */
export function split(total: number, parts: number): number[] {
  const base = Math.floor(total / parts);
  return Array.from({ length: parts }, (_, i) => base + (i < total % parts ? 1 : 0));
}

export class WorkerPool implements ClientPool {
  private constructor(
    private readonly peers: IpcPeer[],
    private readonly children: ChildProcess[],
  ) {}

  /**
   * Forks `count` workers and waits until each is ready. `nice`: the workers' scheduling
   * priority (`os.setPriority`; raising it needs no privilege), so that a load generator
   * sharing the machine does not starve the server it measures. `cores`: a taskset list
   * the workers are pinned to (bench:compare's `--pin`).
   */
  static async start(
    count: number,
    entry = WORKER_ENTRY,
    nice?: number,
    cores?: string,
  ): Promise<WorkerPool> {
    if (!existsSync(entry)) {
      throw new Error(`worker processes need the built CLI (${entry} is missing: npm run build)`);
    }
    const children: ChildProcess[] = [];
    try {
      const peers = await Promise.all(
        Array.from({ length: count }, async (_, i) => {
          const child = fork(entry, [], {
            ...pinnedFork(cores),
            stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
          });
          children.push(child);
          if (nice !== undefined && child.pid !== undefined) setPriority(child.pid, nice);
          await waitReady(child, `bench worker ${i + 1}`);
          return new IpcPeer(child, `bench worker ${i + 1}`);
        }),
      );
      return new WorkerPool(peers, children);
    } catch (err) {
      for (const child of children) child.kill('SIGKILL');
      throw err;
    }
  }

  /** Process ids of the workers (tests end one to check that the pool reports it). */
  get pids(): number[] {
    return this.children.map((child) => child.pid ?? -1);
  }

  private all<T>(cmd: string, args: (i: number) => unknown, timeoutMs = 120_000): Promise<T[]> {
    return Promise.all(this.peers.map((peer, i) => peer.call<T>(cmd, args(i), timeoutMs)));
  }

  async open(options: OpenOptions): Promise<OpenResult> {
    const counts = split(options.count, this.peers.length);
    const results = await this.all<OpenResult>(
      'open',
      (i) => ({ ...options, count: counts[i] }),
      options.timeoutMs + 30_000,
    );
    const errors: Record<string, number> = {};
    for (const r of results) {
      for (const [reason, n] of Object.entries(r.errors))
        errors[reason] = (errors[reason] ?? 0) + n;
    }
    return {
      opened: sum(results.map((r) => r.opened)),
      failed: sum(results.map((r) => r.failed)),
      errors,
      elapsedMs: Math.max(...results.map((r) => r.elapsedMs)),
    };
  }

  async subscribeAll(topic: string, timeoutMs: number): Promise<number> {
    return sum(
      await this.all<number>('subscribeAll', () => ({ topic, timeoutMs }), timeoutMs + 10_000),
    );
  }

  async delivered(): Promise<number> {
    return sum(await this.all<number>('delivered', () => ({})));
  }

  async waitDelivered(perConnection: number, timeoutMs: number): Promise<number> {
    return sum(
      await this.all<number>(
        'waitDelivered',
        () => ({ perConnection, timeoutMs }),
        timeoutMs + 10_000,
      ),
    );
  }

  async echo(options: EchoOptions): Promise<EchoResult> {
    const clients = split(options.clients, this.peers.length);
    const results = await this.all<EchoResult>(
      'echo',
      (i) => ({ ...options, clients: clients[i] }),
      options.warmupMs + options.durationMs + 60_000,
    );
    const merged = new LatencyRecorder();
    for (const r of results) merged.merge(r.histogram);
    return {
      histogram: merged.encode(),
      measured: sum(results.map((r) => r.measured)),
      errors: sum(results.map((r) => r.errors)),
      elapsedMs: Math.max(...results.map((r) => r.elapsedMs)),
    };
  }

  async drops(): Promise<Record<string, number>> {
    const merged: Record<string, number> = {};
    for (const d of await this.all<Record<string, number>>('drops', () => ({}))) {
      for (const [code, n] of Object.entries(d)) merged[code] = (merged[code] ?? 0) + n;
    }
    return merged;
  }

  async openCount(): Promise<number> {
    return sum(await this.all<number>('openCount', () => ({})));
  }

  async usage(): Promise<ProcessUsage[]> {
    return (await this.all<ProcessUsage[]>('usage', () => ({}))).flat();
  }

  async closeAll(): Promise<void> {
    await this.all('closeAll', () => ({}));
  }

  /** The workers' scheduling priorities (`os.getPriority`). */
  priorities(): number[] {
    return this.children.flatMap((c) => (c.pid === undefined ? [] : [getPriority(c.pid)]));
  }

  /** The storm's clients, spread over the workers. */
  storm(): StormFleet {
    return new WorkerStormFleet(this.peers);
  }

  /** Ends the worker processes. */
  async stop(): Promise<void> {
    await Promise.all(
      this.children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) {
              resolve();
              return;
            }
            const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
            timer.unref();
            child.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
            // A worker whose channel already closed only needs to exit (disconnecting it
            // again would be an error event).
            if (child.connected) child.disconnect();
          }),
      ),
    );
  }
}

/** {@link StormFleet} over worker processes: each call goes to every worker, answers merge. */
class WorkerStormFleet implements StormFleet {
  constructor(private readonly peers: readonly IpcPeer[]) {}

  private all<T>(cmd: string, args: (i: number) => unknown, timeoutMs = 60_000): Promise<T[]> {
    return Promise.all(this.peers.map((peer, i) => peer.call<T>(cmd, args(i), timeoutMs)));
  }

  async open(options: StormOpenOptions): Promise<number> {
    const counts = split(options.count, this.peers.length);
    const opened = await this.all<number>(
      'storm.open',
      (i) => ({ ...options, count: counts[i], prefix: `${options.prefix}w${i + 1}-` }),
      options.timeoutMs + 30_000,
    );
    return sum(opened);
  }

  async subscribe(topic: string, timeoutMs: number): Promise<number> {
    return sum(
      await this.all<number>('storm.subscribe', () => ({ topic, timeoutMs }), timeoutMs + 10_000),
    );
  }

  async status(since: number): Promise<StormStatus> {
    return mergeStorm.status(await this.all<StormStatus>('storm.status', () => ({ since })));
  }

  async opens(since: number): Promise<StormOpens> {
    return mergeStorm.opens(await this.all<StormOpens>('storm.opens', () => ({ since })));
  }

  async complete(published: number): Promise<boolean> {
    return (await this.all<boolean>('storm.complete', () => ({ published }))).every(Boolean);
  }

  async audit(published: number): Promise<StormAudit> {
    return mergeStorm.audit(await this.all<StormAudit>('storm.audit', () => ({ published })));
  }

  async attempts(since: number, bucketMs: number): Promise<StormAttempts> {
    return mergeAttempts(
      await this.all<StormAttempts>('storm.attempts', () => ({ since, bucketMs })),
    );
  }

  async close(): Promise<void> {
    await this.all('storm.close', () => ({}));
  }
}

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

/** Resolves on the child's `{ ready: true }` message; rejects if it exits first or is late. */
export function waitReady<T extends { ready: true }>(
  child: ChildProcess,
  name: string,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`${name} did not start within ${WORKER_START_MS} ms`));
    }, WORKER_START_MS);
    const onMessage = (message: unknown): void => {
      if (typeof message === 'object' && message !== null && (message as T).ready === true) {
        cleanup();
        resolve(message as T);
      }
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
      cleanup();
      reject(new Error(`${name} exited during start (${signal ?? code})`));
    };
    const onError = (err: Error & { code?: string }): void => {
      cleanup();
      reject(new Error(`${name} could not start (${err.code ?? err.message})`));
    };
    const cleanup = (): void => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      child.off('error', onError);
    };
    child.on('message', onMessage);
    child.on('exit', onExit);
    child.on('error', onError);
  });
}
