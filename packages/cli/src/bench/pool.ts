import { fulfilledWithin } from '../wait-until.js';
import { LatencyRecorder } from './histogram.js';
import type { AdapterSpec, LoadAdapter, LoadConnection, LoadHooks } from './load-adapter.js';
import { tetherLoadAdapter, tetherPingLoadAdapter } from './tether-load.js';
import { type ProcessUsage, processUsage } from './usage.js';

/**
 * A pool of load connections in one process. {@link ClientPool} is the interface the
 * scenarios use; `LocalPool` is this process, `WorkerPool` spreads the same calls over
 * worker processes. Every call is bounded by a deadline.
 */

export interface OpenOptions {
  url: string;
  count: number;
  /** Source addresses, used round-robin (empty: the system picks). */
  addresses: readonly string[];
  /** Connection attempts in flight at once. */
  concurrency: number;
  adapter: AdapterSpec;
  /** Deadline of the whole open; attempts still pending then count as `timeout`. */
  timeoutMs: number;
}

export interface OpenResult {
  opened: number;
  failed: number;
  /** Failures by reason (`ECONNREFUSED`, `HTTP 429`, `timeout`, ...). */
  errors: Record<string, number>;
  elapsedMs: number;
}

export interface EchoOptions {
  /** How many of the pool's connections echo (the first ones). */
  clients: number;
  /** Echoes per second per client (each waits for its reply before the next). */
  ratePerClient: number;
  warmupMs: number;
  durationMs: number;
  payloadBytes: number;
}

export interface EchoResult {
  /** The HDR histogram of the measured round trips (see LatencyRecorder.encode). */
  histogram: string;
  /** Echoes answered during the measurement. */
  measured: number;
  errors: number;
  elapsedMs: number;
}

export interface ClientPool {
  open(options: OpenOptions): Promise<OpenResult>;
  /** Subscribes every open connection to `topic`; resolves with how many confirmed. */
  subscribeAll(topic: string, timeoutMs: number): Promise<number>;
  /** Fan-out messages received so far, over all connections. */
  delivered(): Promise<number>;
  /** Resolves once `perConnection` × subscribed connections were delivered, or at the deadline; returns the count. */
  waitDelivered(perConnection: number, timeoutMs: number): Promise<number>;
  echo(options: EchoOptions): Promise<EchoResult>;
  /** Connections that closed without being asked to, by close code. */
  drops(): Promise<Record<string, number>>;
  /** Open connections now. */
  openCount(): Promise<number>;
  usage(): Promise<ProcessUsage[]>;
  /**
   * Ends every connection, by a TCP reset where the adapter can (`drop`). A closed
   * socket otherwise waits in TIME_WAIT for a minute, still holding its source port: with
   * tens of thousands of them on the bench's few source addresses, the next run's load
   * clients spent seconds of kernel time in `bind()` looking for a free port (seen as
   * `inet_bind2_bucket_match_addr_any` under `perf`), and that run's connect rate measured
   * the kernel's port search, not the server.
   */
  closeAll(): Promise<void>;
}

/** Loads `spec`: the built-in Tether adapter or an export of a module. */
export async function resolveAdapter(spec: AdapterSpec): Promise<LoadAdapter> {
  if (spec === 'tether') return tetherLoadAdapter;
  if (spec === 'tether-ping') return tetherPingLoadAdapter;
  const module = (await import(spec.module)) as Record<string, unknown>;
  const adapter = module[spec.name] as LoadAdapter | undefined;
  if (adapter === undefined || typeof adapter.connect !== 'function') {
    throw new Error(`${spec.module} has no load adapter export "${spec.name}"`);
  }
  return adapter;
}

const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** The pool of this process. */
export class LocalPool implements ClientPool {
  private readonly connections: LoadConnection[] = [];
  private subscribed = 0;
  private deliveredCount = 0;
  private readonly dropped: Record<string, number> = {};
  private readonly live = new Set<LoadConnection>();
  private waiter: { target: number; resolve: () => void } | undefined;
  private readonly hooksFor = (conn: { ref?: LoadConnection }): LoadHooks => ({
    delivered: (count) => {
      this.deliveredCount += count;
      if (this.waiter !== undefined && this.deliveredCount >= this.waiter.target) {
        this.waiter.resolve();
      }
    },
    closed: (code) => {
      this.dropped[code] = (this.dropped[code] ?? 0) + 1;
      if (conn.ref !== undefined) this.live.delete(conn.ref);
    },
  });

  async open(options: OpenOptions): Promise<OpenResult> {
    const adapter = await resolveAdapter(options.adapter);
    const started = performance.now();
    const errors: Record<string, number> = {};
    let opened = 0;
    let next = 0;
    const deadline = started + options.timeoutMs;
    const attempt = async (): Promise<void> => {
      while (next < options.count) {
        const index = next;
        next += 1;
        const address =
          options.addresses.length === 0
            ? undefined
            : options.addresses[index % options.addresses.length];
        const holder: { ref?: LoadConnection } = {};
        const conn = adapter.connect(options.url, address, this.hooksFor(holder));
        holder.ref = conn;
        const remaining = deadline - performance.now();
        let timer: NodeJS.Timeout | undefined;
        const outcome = await Promise.race([
          conn.ready.then(
            () => 'ok',
            (err: Error) => err.message,
          ),
          new Promise<string>((resolve) => {
            timer = setTimeout(() => resolve('timeout'), Math.max(0, remaining));
          }),
        ]);
        clearTimeout(timer);
        if (outcome === 'ok') {
          opened += 1;
          this.connections.push(conn);
          this.live.add(conn);
        } else {
          errors[outcome] = (errors[outcome] ?? 0) + 1;
          conn.close();
          if (outcome === 'timeout') {
            // Past the deadline: count the rest without trying them.
            const rest = options.count - next;
            if (rest > 0) errors.timeout = (errors.timeout ?? 0) + rest;
            next = options.count;
          }
        }
      }
    };
    const workers = Math.max(1, Math.min(options.concurrency, options.count));
    await Promise.all(Array.from({ length: workers }, attempt));
    return {
      opened,
      failed: options.count - opened,
      errors,
      elapsedMs: performance.now() - started,
    };
  }

  async subscribeAll(topic: string, timeoutMs: number): Promise<number> {
    const attempts = [...this.live].map((conn) => conn.subscribe(topic));
    const confirmed = await fulfilledWithin(attempts, timeoutMs);
    this.subscribed = confirmed;
    return confirmed;
  }

  async delivered(): Promise<number> {
    return this.deliveredCount;
  }

  async waitDelivered(perConnection: number, timeoutMs: number): Promise<number> {
    const target = perConnection * this.subscribed;
    if (this.deliveredCount >= target) return this.deliveredCount;
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      this.waiter = { target, resolve };
      timer = setTimeout(resolve, timeoutMs);
    });
    clearTimeout(timer);
    this.waiter = undefined;
    return this.deliveredCount;
  }

  async echo(options: EchoOptions): Promise<EchoResult> {
    const recorder = new LatencyRecorder();
    const payload = 'x'.repeat(options.payloadBytes);
    const started = performance.now();
    const measureFrom = started + options.warmupMs;
    const endAt = measureFrom + options.durationMs;
    const intervalMs = 1000 / options.ratePerClient;
    let errors = 0;
    const loop = async (conn: LoadConnection, offset: number): Promise<void> => {
      let next = performance.now() + offset;
      await sleep(offset);
      while (performance.now() < endAt) {
        const sent = performance.now();
        let ok = true;
        try {
          await conn.echo(payload);
        } catch {
          ok = false;
          errors += 1;
          if (!this.live.has(conn)) return;
        }
        const now = performance.now();
        if (ok && sent >= measureFrom && now <= endAt) recorder.recordMs(now - sent);
        next += intervalMs;
        if (next < now) next = now;
        await sleep(next - now);
      }
    };
    const clients = [...this.live].slice(0, options.clients);
    // Spread the first sends over one interval so the clients do not fire in lockstep.
    await Promise.all(clients.map((conn, i) => loop(conn, (i * intervalMs) / clients.length)));
    return {
      histogram: recorder.encode(),
      measured: recorder.count,
      errors,
      elapsedMs: performance.now() - started,
    };
  }

  async drops(): Promise<Record<string, number>> {
    return { ...this.dropped };
  }

  async openCount(): Promise<number> {
    return this.live.size;
  }

  async usage(): Promise<ProcessUsage[]> {
    return [processUsage()];
  }

  async closeAll(): Promise<void> {
    for (const conn of this.connections) {
      if (conn.drop) conn.drop();
      else conn.close();
    }
    this.connections.length = 0;
    this.live.clear();
    this.subscribed = 0;
    this.deliveredCount = 0;
  }
}
