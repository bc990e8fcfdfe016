import type { Worker } from 'node:cluster';
import { OPS_DEFAULTS } from '@tether/server/ops';
import {
  AggregatorRegistry,
  Counter,
  collectDefaultMetrics,
  Gauge,
  type MetricObjectWithValues,
  type MetricValue,
  Registry,
} from 'prom-client';
import { isWorkerMessage, type OpsQuery, type PrimaryMessage } from './cluster-messages.js';
import { mergeStats, type WorkerSlotState, type WorkerStats } from './cluster-stats.js';

/**
 * The primary's answers for the whole cluster: on a worker's `ask`, it collects every
 * worker's local answer (a worker that does not answer within {@link COLLECT_TIMEOUT_MS}
 * is left out and named) and merges them:
 * - `/metrics`: prom-client's `AggregatorRegistry.aggregate` over the workers' registries
 *   and the primary's own (counters and gauges summed, so `tether_connections` is the
 *   total and `process_resident_memory_bytes` the memory of every hub process), plus
 *   `tether_workers`, `tether_workers_up` and `tether_worker_restarts_total`;
 * - `/stats`: cluster-stats.ts;
 * - `/readyz`: ready when every slot has a worker that answered ready; else 503 naming them;
 * - `/healthz`: 200 with each worker's state.
 */

/** How long the primary waits for each worker's local answer. */
export const COLLECT_TIMEOUT_MS = 2_000;

interface Collecting {
  pending: Set<number>;
  answers: Array<{ slot: number; body: unknown }>;
  done: () => void;
}

export class ClusterOps {
  private readonly registry = new Registry();
  private readonly restarts: Counter;
  private readonly collecting = new Map<number, Collecting>();
  private nextId = 1;
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly workers: () => Array<{ slot: number; worker: Worker }>,
    private readonly slots: () => WorkerSlotState[],
    private readonly state: () => 'running' | 'draining',
  ) {
    collectDefaultMetrics({ register: this.registry });
    new Gauge({
      name: 'tether_workers',
      help: 'Hub worker processes configured (--workers)',
      registers: [this.registry],
      collect() {
        this.set(slots().length);
      },
    });
    new Gauge({
      name: 'tether_workers_up',
      help: 'Hub worker processes listening now',
      registers: [this.registry],
      collect() {
        this.set(slots().filter((s) => s.state === 'running').length);
      },
    });
    this.restarts = new Counter({
      name: 'tether_worker_restarts_total',
      help: 'Hub worker processes replaced after they exited',
      registers: [this.registry],
    });
  }

  countRestart(): void {
    this.restarts.inc();
  }

  /** Handles a worker's message; returns its URL when it says it listens. */
  onMessage(slot: number, worker: Worker, message: unknown): string | undefined {
    if (!isWorkerMessage(message)) return undefined;
    if (message.tether === 'listening') return message.url;
    if (message.tether === 'local') {
      const c = this.collecting.get(message.id);
      if (c?.pending.delete(worker.process.pid ?? -1)) {
        c.answers.push({ slot, body: message.body });
        if (c.pending.size === 0) c.done();
      }
      return undefined;
    }
    const id = message.id;
    void this.answer(message.query).then(
      ({ status, body }) => send(worker, { tether: 'answer', id, status, body }),
      (err: unknown) =>
        send(worker, {
          tether: 'answer',
          id,
          status: 500,
          body: { error: { code: 'INTERNAL', message: `aggregating failed: ${String(err)}` } },
        }),
    );
    return undefined;
  }

  /** Every worker's local answer to `query` (those that answered in time). */
  private collect(query: OpsQuery): Promise<Array<{ slot: number; body: unknown }>> {
    const id = this.nextId;
    this.nextId += 1;
    const targets = this.workers();
    return new Promise((resolve) => {
      const c: Collecting = {
        pending: new Set(targets.map((t) => t.worker.process.pid ?? -1)),
        answers: [],
        done: () => {
          clearTimeout(timer);
          this.timers.delete(timer);
          this.collecting.delete(id);
          resolve(c.answers);
        },
      };
      const timer = setTimeout(() => c.done(), COLLECT_TIMEOUT_MS);
      this.timers.add(timer);
      this.collecting.set(id, c);
      for (const t of targets) {
        if (!send(t.worker, { tether: 'collect', id, query }))
          c.pending.delete(t.worker.process.pid ?? -1);
      }
      if (c.pending.size === 0) c.done();
    });
  }

  private async answer(query: OpsQuery): Promise<{ status: number; body: unknown }> {
    const answers = await this.collect(query);
    const slots = this.slots();
    switch (query.what) {
      case 'metrics': {
        // As the workers' process metrics (server ops): without the gauges named like
        // counters (`nodejs_active_handles_total`, ...) that promtool warns about.
        const own = (await this.registry.getMetricsAsJSON()).filter(
          (m) => !(String(m.type) === 'gauge' && m.name.endsWith('_total')),
        );
        const all = [
          ...answers.map((a) => a.body as MetricObjectWithValues<MetricValue<string>>[]),
          own,
        ];
        return { status: 200, body: await AggregatorRegistry.aggregate(all).metrics() };
      }
      case 'stats': {
        const reports = answers
          .map((a) => a.body as WorkerStats)
          .filter((a) => a.report !== undefined);
        const listed = Math.min(
          query.connections ?? OPS_DEFAULTS.connectionsListed,
          OPS_DEFAULTS.maxConnectionsListed,
        );
        const merged = mergeStats(reports, slots, listed);
        // Without a single report there is nothing in the shape the dashboard reads.
        return reports.length > 0
          ? { status: 200, body: merged }
          : {
              status: 503,
              body: {
                error: {
                  code: 'UNAVAILABLE',
                  message: `no worker answered within ${COLLECT_TIMEOUT_MS} ms`,
                },
                ...merged,
              },
            };
      }
      case 'ready':
        return this.readiness(answers, slots);
      case 'health':
        return {
          status: 200,
          body: {
            status: 'ok',
            state: this.state(),
            workers: slots.length,
            perWorker: slots.map((s) => ({
              ...s,
              state:
                (answers.find((a) => a.slot === s.slot)?.body as { state?: string } | undefined)
                  ?.state ?? s.state,
            })),
          },
        };
    }
  }

  private readiness(
    answers: Array<{ slot: number; body: unknown }>,
    slots: WorkerSlotState[],
  ): { status: number; body: unknown } {
    const checks: Record<string, string> = {};
    let ready = this.state() === 'running';
    for (const s of slots) {
      const body = answers.find((a) => a.slot === s.slot)?.body as
        | { ready?: boolean; checks?: Record<string, string> }
        | undefined;
      const name = `worker ${s.slot}`;
      if (body?.ready === true) {
        checks[name] = 'ok';
        continue;
      }
      ready = false;
      checks[name] =
        body?.checks !== undefined
          ? `not ready: ${Object.entries(body.checks)
              .filter(([, v]) => v !== 'ok')
              .map(([k, v]) => `${k} ${v}`)
              .join(', ')}`
          : s.state === 'running'
            ? `no answer within ${COLLECT_TIMEOUT_MS} ms`
            : s.state;
    }
    if (this.state() !== 'running') checks.primary = this.state();
    return {
      status: ready ? 200 : 503,
      body: { status: ready ? 'ready' : 'not ready', workers: slots.length, checks },
    };
  }

  dispose(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const c of this.collecting.values()) c.done();
    this.registry.clear();
  }
}

/** Sends to a worker whose channel may have closed (it died): false then. */
export function send(worker: Worker, message: PrimaryMessage): boolean {
  try {
    if (!worker.isConnected()) return false;
    return worker.send(message);
  } catch {
    return false;
  }
}
