import { type ChildProcess, fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { pinnedFork } from './affinity.js';
import { type BenchServer, type BenchServerOptions, startBenchServer } from './hub-server.js';
import { type HubTrace, HubTracer } from './hub-trace.js';
import { IpcPeer } from './ipc.js';
import { fetchUsage } from './metrics-usage.js';
import { type PublishArgs, publishBurst } from './publish-burst.js';
import { connectPublisher, type TetherPublisher } from './tether-load.js';
import {
  collectGarbage,
  type LoopDelay,
  LoopDelayMonitor,
  type ProcessUsage,
  processUsage,
} from './usage.js';
import { waitReady } from './worker-pool.js';

/**
 * The server under test, whichever way it runs: in this process (tests, quick runs), in
 * a child process (the default: its CPU and memory are its own), or external (a URL;
 * publishes go through a client connection, and nothing about its process is known).
 */

/** The server's resource use, with its connection count. */
export interface HubUsage extends ProcessUsage {
  connections: number;
}

/** How a restart drains: the retry hint given to each client; or a crash. */
export interface RestartOptions {
  retryAfterMs: number;
  /** Undefined: the server's own spread (as `tether serve` on SIGTERM). */
  retrySpreadMs?: number | undefined;
  /**
   * Child hub: SIGKILL instead of a drain (clients see 1006, nothing is flushed). In
   * process: every socket is destroyed without goodbye (the closest this process can
   * come to a crash).
   */
  crash?: boolean;
}

export interface BenchHub {
  readonly kind: 'in-process' | 'child' | 'external';
  readonly url: string;
  publish(args: PublishArgs): Promise<number>;
  /** Undefined for an external server. */
  usage(): Promise<HubUsage | undefined>;
  /**
   * The server process's event-loop delay since the previous call (or since it started:
   * a restarted child starts a new interval). Undefined for an external server.
   */
  loopDelay(): Promise<LoopDelay | undefined>;
  /** The server's storm trace (see hub-trace.ts) since `since`; undefined for an external server. */
  trace(since: number, bucketMs: number): Promise<HubTrace | undefined>;
  /** Full GC in the server process, where possible; false when not. */
  gc(): Promise<boolean>;
  /** Drains (goodbye + 1012 with the hint), stops, and starts again on the same port. */
  restart(options: RestartOptions): Promise<void>;
  close(): Promise<void>;
}

/** Path of the compiled hub child entry next to this file. */
export const HUB_CHILD_ENTRY = fileURLToPath(new URL('./hub-child.js', import.meta.url));

/** Whether the built child entry exists (it does not when running from TypeScript sources). */
export function canForkHub(entry = HUB_CHILD_ENTRY): boolean {
  return existsSync(entry);
}

/** The bench server in this process. */
export async function startInProcessHub(options: BenchServerOptions): Promise<BenchHub> {
  let server = await startBenchServer(options);
  const port = server.port;
  const loop = new LoopDelayMonitor();
  let tracer = new HubTracer(server.tether, server.endpoint);
  return {
    kind: 'in-process',
    url: server.url,
    publish: (args) => publishBurst(server, args),
    usage: async () => ({ ...processUsage(), connections: server.tether.stats().connections }),
    loopDelay: async () => loop.take(),
    trace: async (since, bucketMs) => tracer.take(since, bucketMs),
    gc: async () => collectGarbage(),
    async restart(restart) {
      // The old server stops listening as its close begins: the new one binds the port
      // while the old one drains (as a replacement process of `tether serve` would).
      const closed = server.close({
        retryAfterMs: restart.retryAfterMs,
        retrySpreadMs: restart.retrySpreadMs,
        drainTimeoutMs: restart.crash === true ? 0 : 5_000,
      });
      tracer.stop();
      [, server] = await Promise.all([closed, startBenchServer({ ...options, port })]);
      tracer = new HubTracer(server.tether, server.endpoint);
    },
    async close() {
      loop.stop();
      tracer.stop();
      await server.close({ retryAfterMs: 0, retrySpreadMs: 0, drainTimeoutMs: 2_000 });
    },
  };
}

/** Resolves with `promise`, or calls `onLate` after `ms` and waits on. */
async function withDeadline(promise: Promise<void>, ms: number, onLate: () => void): Promise<void> {
  const timer = setTimeout(onLate, ms);
  try {
    await promise;
  } finally {
    clearTimeout(timer);
  }
}

/** How long a child hub may take to drain, close and answer. */
const CLOSE_ANSWER_MS = 60_000;

/** What a child hub is started with: the bench server's options, and whether it measures itself. */
export interface ChildHubOptions extends BenchServerOptions {
  /**
   * The event-loop delay monitor and the storm trace (default true). bench:compare turns
   * them off: it reads neither, and the servers it compares run without them.
   */
  instrument?: boolean;
}

/**
 * The bench server in a child process (needs the built CLI); `cores`: a taskset list it
 * is pinned to, restarts included (bench:compare's `--pin`).
 */
export async function startChildHub(
  options: ChildHubOptions,
  entry = HUB_CHILD_ENTRY,
  cores?: string,
): Promise<BenchHub> {
  if (!canForkHub(entry)) {
    throw new Error(`a child hub needs the built CLI (${entry} is missing: npm run build)`);
  }
  const spawnChild = async (
    config: ChildHubOptions,
  ): Promise<{ child: ChildProcess; peer: IpcPeer; port: number; url: string }> => {
    const { logger: _logger, onMessage: _onMessage, ...plain } = config;
    const child = fork(entry, [JSON.stringify(plain)], {
      ...pinnedFork(cores, ['--expose-gc']),
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    try {
      const ready = await waitReady<{ ready: true; port: number; url: string }>(child, 'bench hub');
      return { child, peer: new IpcPeer(child, 'bench hub'), port: ready.port, url: ready.url };
    } catch (err) {
      child.kill('SIGKILL');
      throw err;
    }
  };
  let current = await spawnChild(options);
  const port = current.port;
  /**
   * Drains and stops the child; resolves with why the drain failed (then it was killed).
   * With `early`, `replace` runs as soon as the child stopped listening (its drain and
   * exit go on meanwhile): a restart then takes one process start, not a drain plus one.
   */
  const stop = async (
    hint: { retryAfterMs: number; retrySpreadMs?: number | undefined },
    replace?: () => Promise<void>,
  ): Promise<string | undefined> => {
    const { child, peer } = current;
    if (child.exitCode !== null || child.signalCode !== null) {
      await replace?.();
      return undefined;
    }
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    // Only the server's close options: any other key is refused by TetherServer.close().
    const options = { retryAfterMs: hint.retryAfterMs, retrySpreadMs: hint.retrySpreadMs };
    const killed = (err: Error) => {
      child.kill('SIGKILL');
      return err.message;
    };
    let failed: string | undefined;
    if (replace === undefined) {
      // The drain itself is bounded (5 s, then terminate); a loaded machine with 10,000
      // clients needs well beyond that to answer all of them and close the store.
      failed = await peer.call('close', options, CLOSE_ANSWER_MS).then(() => undefined, killed);
      await exited;
    } else {
      const drain = await peer
        .call<{ listening: boolean }>('drain', options, CLOSE_ANSWER_MS)
        .then(
          (r) => (r.listening ? 'bench hub: still listening after its drain began' : undefined),
          killed,
        );
      const exit = withDeadline(exited, CLOSE_ANSWER_MS, () => child.kill('SIGKILL'));
      await Promise.all([replace(), exit]);
      failed = drain;
    }
    // The answer may be lost to the child's own exit: a clean exit is a finished drain.
    return child.exitCode === 0
      ? undefined
      : (failed ?? `bench hub exited with ${child.exitCode ?? child.signalCode}`);
  };
  return {
    kind: 'child',
    url: current.url,
    publish: (args) => current.peer.call<number>('publish', args),
    usage: () => current.peer.call<HubUsage>('usage'),
    // A child started without `instrument` answers null (IPC has no undefined).
    loopDelay: async () => (await current.peer.call<LoopDelay | null>('loopDelay')) ?? undefined,
    trace: async (since, bucketMs) =>
      (await current.peer.call<HubTrace | null>('trace', { since, bucketMs })) ?? undefined,
    gc: () => current.peer.call<boolean>('gc'),
    async restart(restart) {
      if (restart.crash === true) {
        const { child } = current;
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.kill('SIGKILL');
        await exited;
        current = await spawnChild({ ...options, port });
        return;
      }
      const failed = await stop(restart, async () => {
        current = await spawnChild({ ...options, port });
      });
      // A drain that failed became a kill: say so rather than measure the wrong restart.
      if (failed !== undefined) throw new Error(`the drained restart failed: ${failed}`);
    },
    async close() {
      await stop({ retryAfterMs: 0, retrySpreadMs: 0 });
    },
  };
}

/**
 * A server at a URL: publishes go through a client connection (it must allow them); its
 * CPU and memory come from its `/metrics` when it exports Node's process metrics
 * (`tether serve` does; with `--workers N` summed over every process), else none.
 */
export async function connectExternalHub(url: string, opsKey?: string): Promise<BenchHub> {
  let publisher: TetherPublisher | undefined;
  let pacer: Pacer | undefined;
  const ensurePublisher = async (): Promise<TetherPublisher> => {
    if (publisher === undefined) {
      publisher = connectPublisher(url);
      await publisher.ready;
    }
    return publisher;
  };
  return {
    kind: 'external',
    url,
    async publish(args) {
      const p = await ensurePublisher();
      pacer ??= new Pacer(p.limits?.rate, p.limits?.burst);
      const pad = 'x'.repeat(args.payloadBytes);
      const pending: Array<Promise<void>> = [];
      for (let i = 0; i < args.count; i += 1) {
        await pacer.take();
        pending.push(p.publish(args.topic, { n: args.first + i, ts: Date.now(), pad }));
      }
      await Promise.all(pending);
      return args.count;
    },
    usage: () => fetchUsage(url, opsKey),
    loopDelay: async () => undefined,
    trace: async () => undefined,
    gc: async () => false,
    restart: async () => {
      throw new Error(
        'cannot restart a server given by URL (the storm scenario needs its own hub)',
      );
    },
    close: async () => publisher?.close(),
  };
}

/**
 * Keeps a publisher under the server's announced rate limit (90 % of `rate` per second,
 * `burst` at once), as the client's outbox does: a bench must not measure its own
 * RATE_LIMITED errors.
 */
class Pacer {
  private tokens: number;
  private last = performance.now();
  private readonly perMs: number;
  private readonly burst: number;

  constructor(rate: number | undefined, burst: number | undefined) {
    this.perMs = ((rate ?? Number.POSITIVE_INFINITY) * 0.9) / 1000;
    this.burst = Math.max(1, Math.floor((burst ?? Number.POSITIVE_INFINITY) * 0.9));
    this.tokens = this.burst;
  }

  async take(): Promise<void> {
    for (;;) {
      const now = performance.now();
      this.tokens = Math.min(this.burst, this.tokens + (now - this.last) * this.perMs);
      this.last = now;
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      await new Promise((resolve) =>
        setTimeout(resolve, Math.ceil((1 - this.tokens) / this.perMs)),
      );
    }
  }
}

/** Where the hub runs, and the server's options. */
export interface HubChoice {
  url: string | undefined;
  /** The ops key of the URL's `/metrics` (`--ops-key`). */
  opsKey?: string | undefined;
  mode: 'in-process' | 'child';
  server: BenchServerOptions;
}

export function startBenchHub(choice: HubChoice): Promise<BenchHub> {
  if (choice.url !== undefined) return connectExternalHub(choice.url, choice.opsKey);
  return choice.mode === 'child' ? startChildHub(choice.server) : startInProcessHub(choice.server);
}

export type { BenchServer };
