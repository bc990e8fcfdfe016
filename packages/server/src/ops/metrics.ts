import { STATUS_CODES } from 'node:http';
import { performance } from 'node:perf_hooks';
import { checkInt, type Disposer, DisposerBag } from '@tether/common';
import { closeCodeInfo } from '@tether/protocol';
import { Counter, Gauge, Histogram, type LabelValues, Registry } from 'prom-client';
import type { Endpoint } from '../endpoint-types.js';
import type { ServerStats, TetherServer } from '../tether-server.js';
import { OPS_DEFAULTS } from './defaults.js';
import { metricType, PER_ENDPOINT_METRICS, SERVER_METRICS } from './endpoint-metrics.js';
import { registerProcessMetrics } from './process-metrics.js';

/**
 * The `route` label of every HTTP request whose path matches no route: one value for
 * all of them, so that requests for random paths never create series.
 */
export const UNMATCHED_ROUTE = 'unmatched';

/** Options of {@link TetherMetrics}. */
export interface TetherMetricsOptions {
  /**
   * Also export Node's process metrics (CPU, memory, open file descriptors, event-loop
   * lag, GC) under the standard names every Node service exports (`process_*`,
   * `nodejs_*`, no prefix), so dashboards and alerts written for Node services work
   * as they are. Default false (a library should not start the event-loop monitor
   * unasked; an application that already collects them into a registry it merges with
   * ours would export them twice); the hub turns it on.
   */
  processMetrics?: boolean;
  /** Buckets of `tether_heartbeat_rtt_seconds`. Default {@link OPS_DEFAULTS.rttBucketsSeconds}. */
  rttBucketsSeconds?: readonly number[];
  /** Buckets of `tether_store_operation_duration_seconds`. Default {@link OPS_DEFAULTS.storeBucketsSeconds}. */
  storeBucketsSeconds?: readonly number[];
  /**
   * Distinct `route` values of `tether_http_requests_total` besides `unmatched`; later new values count as
   * {@link UNMATCHED_ROUTE}. Default {@link OPS_DEFAULTS.httpRouteLabels}.
   */
  httpRouteLabels?: number;
}

/**
 * The Prometheus metrics of one {@link TetherServer}, in a registry of its own (never
 * prom-client's global one, so two servers in a process, or an application's own
 * metrics, never collide). Every name of its own starts with `tether_`; Node's process
 * metrics (`processMetrics`) keep their standard `process_*` and `nodejs_*` names.
 *
 * Counters the server already keeps (messages, bytes, closes by code, refusals, ...)
 * are read from `tether.stats()` when Prometheus scrapes, so the hot path pays nothing
 * for them; heartbeat RTTs are observed as they are measured (the endpoints' `rtt`
 * event), store latency through {@link instrumentStore}.
 *
 * @example
 * ```ts
 * const metrics = new TetherMetrics(tether);
 * app.get('/metrics', async (_req, res) => {
 *   res.type(metrics.contentType).send(await metrics.metrics());
 * });
 * ```
 */
export class TetherMetrics {
  /** The registry holding every metric of this server. */
  readonly registry = new Registry();
  private readonly rtt: Histogram<'endpoint'>;
  private readonly storeLatency: Histogram<'operation'>;
  private readonly storeErrors: Counter<'operation'>;
  private readonly apiRequests: Counter<'route' | 'status'>;
  private readonly routes = new Set<string>();
  private readonly maxRoutes: number;
  private readonly attached = new Set<Endpoint>();
  private readonly disposers = new DisposerBag();
  private cached: { at: number; stats: ServerStats } | undefined;

  constructor(
    private readonly tether: TetherServer,
    options: TetherMetricsOptions = {},
  ) {
    this.maxRoutes = checkInt(
      'httpRouteLabels',
      options.httpRouteLabels ?? OPS_DEFAULTS.httpRouteLabels,
      1,
    );
    const registers = [this.registry];
    const snapshot = () => this.snapshot();
    /** A metric read from the stats when Prometheus scrapes: `fill` adds each series. */
    const scraped = <L extends string>(
      metric: { name: string; help: string },
      labelNames: readonly L[],
      fill: (add: (labels: LabelValues<L>, n: number) => void) => void,
    ): void => {
      const config = { name: metric.name, help: metric.help, labelNames, registers };
      function collect(this: { reset(): void; inc(labels: LabelValues<L>, n: number): void }) {
        this.reset();
        fill((labels, n) => this.inc(labels, n));
      }
      if (metricType(metric.name) === 'gauge') new Gauge({ ...config, collect });
      else new Counter({ ...config, collect });
    };
    const histogram = <L extends string>(
      name: string,
      help: string,
      label: L,
      buckets: readonly number[],
    ) =>
      new Histogram({ name, help, labelNames: [label] as const, buckets: [...buckets], registers });

    for (const metric of PER_ENDPOINT_METRICS) {
      scraped(metric, ['endpoint'], (add) => {
        for (const e of snapshot().endpoints) add({ endpoint: e.path }, metric.read(e));
      });
    }
    scraped(
      {
        name: 'tether_disconnects_total',
        help: 'Closed connections by close code (see docs/protocol.md for the table); codes outside the table count as "other".',
      },
      ['endpoint', 'code'],
      (add) => {
        for (const e of snapshot().endpoints) {
          for (const [code, n] of Object.entries(e.closes)) {
            add({ endpoint: e.path, code: closeCodeLabel(code) }, n);
          }
        }
      },
    );
    scraped(
      {
        name: 'tether_upgrades_refused_total',
        help: 'Upgrades refused, by reason (origin, perIp, draining, unauthorized, ...).',
      },
      ['endpoint', 'reason'],
      (add) => {
        for (const e of snapshot().endpoints) {
          for (const [reason, n] of Object.entries(e.refused)) add({ endpoint: e.path, reason }, n);
        }
      },
    );
    scraped(
      {
        name: 'tether_resumes_total',
        help: 'Session resume attempts by outcome (ok, failed) and reason of a failure.',
      },
      ['endpoint', 'outcome', 'reason'],
      (add) => {
        for (const e of snapshot().endpoints) {
          add({ endpoint: e.path, outcome: 'ok', reason: '' }, e.resumes.ok);
          for (const [reason, n] of Object.entries(e.resumes.failed)) {
            add({ endpoint: e.path, outcome: 'failed', reason }, n);
          }
        }
      },
    );
    for (const metric of SERVER_METRICS) {
      scraped(metric, [], (add) => add({}, metric.read(snapshot())));
    }
    const store = this.tether.store;
    new Gauge({
      name: 'tether_store_up',
      help: '1 while the store takes operations (a shared store such as Redis is reachable), else 0.',
      registers,
      collect() {
        this.set(store.shared?.health().up === false ? 0 : 1);
      },
    });

    this.rtt = histogram(
      'tether_heartbeat_rtt_seconds',
      'Heartbeat round-trip times (app pong or WebSocket pong).',
      'endpoint',
      options.rttBucketsSeconds ?? OPS_DEFAULTS.rttBucketsSeconds,
    );
    this.storeLatency = histogram(
      'tether_store_operation_duration_seconds',
      'Latency of store operations (sessions, logs, topic history), by operation.',
      'operation',
      options.storeBucketsSeconds ?? OPS_DEFAULTS.storeBucketsSeconds,
    );
    this.storeErrors = new Counter({
      name: 'tether_store_errors_total',
      help: 'Store operations that failed, by operation.',
      labelNames: ['operation'] as const,
      registers,
    });
    this.apiRequests = new Counter({
      name: 'tether_http_requests_total',
      help: 'HTTP API and operations requests answered, by route and status.',
      labelNames: ['route', 'status'] as const,
      registers,
    });
    if (options.processMetrics === true) registerProcessMetrics(this.registry);
    this.attachEndpoints();
  }

  /** The Content-Type of {@link metrics}'s text (Prometheus text format 0.0.4). */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** The Prometheus text exposition of every metric. */
  metrics(): Promise<string> {
    this.attachEndpoints();
    this.cached = undefined;
    return this.registry.metrics();
  }

  /** Records one store operation (see {@link instrumentStore}). */
  observeStore(operation: string, seconds: number, ok: boolean): void {
    this.storeLatency.observe({ operation }, seconds);
    if (!ok) this.storeErrors.inc({ operation });
  }

  /**
   * Counts one answered HTTP request. `route` is the route pattern (`/api/publish`), never
   * the URL, and {@link UNMATCHED_ROUTE} for a path that matches no route: a request's
   * path is the client's choice, and each label value is a series kept for the life of
   * the process. Past `httpRouteLabels` distinct values, new ones count as unmatched; a
   * status HTTP does not define counts as `other`.
   */
  countHttpRequest(route: string, status: number): void {
    if (route !== UNMATCHED_ROUTE && !this.routes.has(route)) {
      if (this.routes.size < this.maxRoutes) this.routes.add(route);
      else route = UNMATCHED_ROUTE;
    }
    this.apiRequests.inc({ route, status: statusLabel(status) });
  }

  /** Stops observing the endpoints. The registry stays readable. */
  dispose(): void {
    this.disposers.dispose();
    this.attached.clear();
  }

  /** Subscribes to the RTT events of endpoints added since the last call. */
  private attachEndpoints(): void {
    for (const endpoint of this.tether.endpoints.values()) {
      if (this.attached.has(endpoint)) continue;
      this.attached.add(endpoint);
      const labels = { endpoint: endpoint.path };
      const dispose: Disposer = endpoint.on('rtt', ({ rttMs }) =>
        this.rtt.observe(labels, rttMs / 1000),
      );
      this.disposers.add(dispose);
    }
  }

  /** One `tether.stats()` per scrape, shared by every collector of that scrape. */
  private snapshot(): ServerStats {
    const now = performance.now();
    if (this.cached === undefined || now - this.cached.at > SNAPSHOT_REUSE_MS) {
      this.cached = { at: now, stats: this.tether.stats() };
    }
    return this.cached.stats;
  }
}

/** The status as a label when HTTP defines it (a fixed set), else `other`. */
function statusLabel(status: number): string {
  const text = String(status);
  return Number.isInteger(status) && STATUS_CODES[text] !== undefined ? text : 'other';
}

/**
 * A close code as a label: the codes of the close-code table as they are; any other
 * (clients may close with any code of 3000-4999) as `other`, so clients cannot make a
 * series per code.
 */
function closeCodeLabel(code: string): string {
  return closeCodeInfo(Number(code)).name === 'unknown' ? 'other' : code;
}

/** Collectors of one scrape run within a few ms; a snapshot this young is reused. */
const SNAPSHOT_REUSE_MS = 250;
