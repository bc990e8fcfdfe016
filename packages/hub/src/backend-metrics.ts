import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { CallOutcome } from './backend-client.js';
import type { BackendEvent } from './config-types.js';

/**
 * What the hub knows about its backend: Prometheus metrics (labels bounded: six events
 * times five outcomes) and the health `/readyz` and `/stats` report. Health is passive:
 * the latest calls decide, no probe traffic is sent.
 */

/** How the backend is doing, from the latest calls. */
export interface BackendHealth {
  /** `ok`, or `degraded` after a call that got no answer or a 5xx. */
  state: 'ok' | 'degraded';
  /** Calls in a row that failed (timeout, unreachable, 5xx). */
  failuresInARow: number;
  /** The latest failure, when degraded. */
  lastError: string | undefined;
  /** Messages waiting for the backend (being delivered or retried). */
  messagesWaiting: number;
  /** Retries of messages so far. */
  retries: number;
  /** Calls by outcome so far. */
  calls: Record<CallOutcome, number>;
}

export class BackendMonitor {
  private failuresInARow = 0;
  private lastError: string | undefined;
  private waiting = 0;
  private retryCount = 0;
  private readonly calls: Record<CallOutcome, number> = {
    ok: 0,
    rejected: 0,
    failed: 0,
    timeout: 0,
    unreachable: 0,
  };
  private requests: Counter<'event' | 'outcome'> | undefined;
  private latency: Histogram<'event'> | undefined;
  private retriesTotal: Counter<'event'> | undefined;

  /** Exports the metrics in `registry` (the hub's, once it exists). */
  register(registry: Registry): void {
    const registers = [registry];
    this.requests = new Counter({
      name: 'tether_backend_requests_total',
      help: 'HTTP calls of the hub to its backend, by event and outcome (ok, rejected = 4xx, failed = other status, timeout, unreachable).',
      labelNames: ['event', 'outcome'],
      registers,
    });
    this.latency = new Histogram({
      name: 'tether_backend_request_duration_seconds',
      help: 'Time of one HTTP call to the backend, answered or not.',
      labelNames: ['event'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.retriesTotal = new Counter({
      name: 'tether_backend_retries_total',
      help: 'Calls to the backend repeated after a failure (messages only).',
      labelNames: ['event'],
      registers,
    });
    const monitor = this;
    new Gauge({
      name: 'tether_backend_messages_waiting',
      help: 'Client messages waiting for the backend: being delivered or retried.',
      registers,
      // Read at scrape time.
      collect() {
        this.set(monitor.waiting);
      },
    });
  }

  /** One call finished (see {@link BackendClient}). */
  observe(event: BackendEvent, outcome: CallOutcome, seconds: number, detail: string): void {
    this.calls[outcome] += 1;
    this.requests?.inc({ event, outcome });
    this.latency?.observe({ event }, seconds);
    if (outcome === 'ok' || outcome === 'rejected') {
      this.failuresInARow = 0;
      this.lastError = undefined;
    } else {
      this.failuresInARow += 1;
      this.lastError = `${event}: ${detail}`;
    }
  }

  retried(event: BackendEvent): void {
    this.retryCount += 1;
    this.retriesTotal?.inc({ event });
  }

  /** A message started waiting for the backend; call the result when it is done. */
  waitingStarted(): () => void {
    this.waiting += 1;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.waiting -= 1;
    };
  }

  health(): BackendHealth {
    return {
      state: this.failuresInARow > 0 ? 'degraded' : 'ok',
      failuresInARow: this.failuresInARow,
      lastError: this.lastError,
      messagesWaiting: this.waiting,
      retries: this.retryCount,
      calls: { ...this.calls },
    };
  }
}
