// The load of `npm run bench:cluster` against hubs already running on one Redis:
// subscribers spread over the hubs (real TetherClients, one topic), numbered publications
// through `/api/publish` of every hub in turn, and the two measurements: fan-out throughput
// (closed loop: a burst, then the next once every subscriber has it) and publish-to-deliver
// latency (open loop at a steady rate; the publish time travels in the payload). Every
// subscriber audits its offsets: nothing lost, nothing twice, nothing reordered.
import { performance } from 'node:perf_hooks';
import { WebSocket } from 'ws';
import { LatencyRecorder } from '../packages/cli/dist/bench/histogram.js';
import { TetherClient } from '../packages/client/dist/index.js';
import { treeCpuSeconds } from './cluster-procs.mjs';

const PAD = 'x'.repeat(64);
/** A burst (or the latency tail) not delivered to every subscriber by then is a stall. */
const DELIVER_DEADLINE_MS = 15_000;
const CONNECT_BATCH = 50;
const CONNECT_DEADLINE_MS = 30_000;

function deadline(promise, ms, label) {
  let timer;
  const late = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${label}: not within ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** One subscriber: its audit of the topic's offsets and its reconnections. */
class Subscriber {
  received = 0;
  lastOffset = 0;
  duplicates = 0;
  skipped = 0;
  gaps = 0;
  opens = 0;

  constructor(url, topic, run) {
    this.client = new TetherClient(url, { WebSocket });
    this.client.on('open', () => {
      this.opens += 1;
    });
    this.sub = this.client.subscribe(topic);
    this.sub.on('gap', () => {
      this.gaps += 1;
    });
    this.sub.on('pub', (e) => {
      if (e.offset <= this.lastOffset) {
        this.duplicates += 1;
        return;
      }
      if (this.lastOffset !== 0 && e.offset !== this.lastOffset + 1) this.skipped += 1;
      this.lastOffset = e.offset;
      this.received += 1;
      run.delivered(e.data);
    });
  }
}

/** Counts deliveries, records latencies, wakes whoever waits for a total. */
class Run {
  total = 0;
  latency = new LatencyRecorder();
  waiter = undefined;

  delivered(data) {
    this.total += 1;
    if (data.l === 1) this.latency.recordMs(performance.now() - data.ts);
    if (this.waiter !== undefined && this.total >= this.waiter.target) {
      const { resolve } = this.waiter;
      this.waiter = undefined;
      resolve();
    }
  }

  /** Resolves once `target` deliveries happened in all. */
  reach(target, label) {
    if (this.total >= target) return Promise.resolve();
    const reached = new Promise((resolve) => {
      this.waiter = { target, resolve };
    });
    return deadline(reached, DELIVER_DEADLINE_MS, `${label} (${this.total} of ${target})`);
  }
}

/** Posts one publication to a hub; resolves once it was stored (200). */
async function publish(hub, apiKey, topic, data) {
  const res = await fetch(`${hub.url}/api/publish`, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ topic, data }),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`/api/publish on ${hub.url}: ${res.status} ${text}`);
}

/** CPU seconds of the hub trees and of Redis, and this process's, at one moment. */
function cpuNow(hubs, redisPid) {
  const self = process.cpuUsage();
  return {
    hubs: treeCpuSeconds(hubs.map((h) => h.pid)),
    redis: treeCpuSeconds([redisPid]),
    load: (self.user + self.system) / 1e6,
    at: performance.now(),
  };
}

/**
 * Runs both measurements against `hubs` (all on one Redis, pid `redisPid`):
 * `{ subscribers, burst, warmupMs, durationMs, rate, latencyMs, apiKey, topic }`.
 */
export async function measure(hubs, redisPid, options) {
  const { subscribers: count, burst, warmupMs, durationMs, rate, latencyMs, apiKey } = options;
  const run = new Run();
  const subs = [];
  try {
    for (let i = 0; i < count; i += CONNECT_BATCH) {
      const batch = [];
      for (let k = i; k < Math.min(count, i + CONNECT_BATCH); k++) {
        const hub = hubs[k % hubs.length];
        batch.push(new Subscriber(hub.wsUrl, options.topic, run));
      }
      subs.push(...batch);
      await deadline(
        Promise.all(batch.map((s) => s.sub.ready())),
        CONNECT_DEADLINE_MS,
        'subscribers ready',
      );
    }
    let published = 0;
    let next = 0;
    const via = () => hubs[next++ % hubs.length];

    // Fan-out throughput: bursts through every hub in turn, closed loop.
    const started = performance.now();
    let window;
    for (;;) {
      const now = performance.now();
      if (window === undefined && now - started >= warmupMs) {
        window = { from: cpuNow(hubs, redisPid), delivered: run.total };
      }
      if (window !== undefined && now - window.from.at >= durationMs) break;
      const posts = [];
      for (let b = 0; b < burst; b++) {
        published += 1;
        posts.push(publish(via(), apiKey, options.topic, { n: published, ts: 0, pad: PAD }));
      }
      await Promise.all(posts);
      await run.reach(published * count, 'fan-out burst delivered to every subscriber');
    }
    const to = cpuNow(hubs, redisPid);
    const seconds = (to.at - window.from.at) / 1000;
    const delivered = run.total - window.delivered;
    const hubCpu = to.hubs - window.from.hubs;

    // Publish-to-deliver latency: `rate` publications per second, open loop.
    const interval = 1000 / rate;
    const latencyPublications = Math.max(1, Math.round((rate * latencyMs) / 1000));
    const latencyStart = performance.now();
    const inFlight = [];
    for (let k = 0; k < latencyPublications; k++) {
      const due = latencyStart + k * interval;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      published += 1;
      const data = { n: published, ts: performance.now(), l: 1, pad: PAD };
      inFlight.push(publish(via(), apiKey, options.topic, data));
    }
    await Promise.all(inFlight);
    await run.reach(published * count, 'latency publications delivered to every subscriber');

    const audit = subs.reduce(
      (a, s) => ({
        lost: a.lost + (published - s.received),
        duplicates: a.duplicates + s.duplicates,
        skipped: a.skipped + s.skipped,
        gaps: a.gaps + s.gaps,
        reconnects: a.reconnects + Math.max(0, s.opens - 1),
      }),
      { lost: 0, duplicates: 0, skipped: 0, gaps: 0, reconnects: 0 },
    );
    return {
      hubs: hubs.length,
      subscribers: count,
      publications: published,
      latencyPublications,
      deliveredPerSecond: delivered / seconds,
      deliveredPerHubCpuSecond: delivered / hubCpu,
      hubCpuPercent: (hubCpu / seconds) * 100,
      redisCpuPercent: ((to.redis - window.from.redis) / seconds) * 100,
      loadCpuPercent: ((to.load - window.from.load) / seconds) * 100,
      latency: run.latency.summary(),
      ...audit,
    };
  } finally {
    await Promise.all(subs.map((s) => s.client.close().catch(() => {})));
  }
}
