import type { Endpoint, TetherServer } from '@tether/server';

/**
 * The server's side of a reconnect storm, per bucket: TCP connections accepted, HTTP
 * upgrades received, welcomes sent (sessions opened) and of those resumes, and the
 * longest timer lateness of each bucket (the event loop's stalls). Read next to the
 * clients' attempts (storm-trace.ts) it tells where an attempt waited. Event times are
 * kept for the latest {@link MAX_EVENTS} of each kind only.
 */

/** Per bucket after `since` (wall-clock ms), as counts; `stallMs` the worst lateness. */
export interface HubTrace {
  tcp: number[];
  upgrades: number[];
  welcomes: number[];
  resumes: number[];
  stallMs: number[];
}

const MAX_EVENTS = 200_000;
const TICK_MS = 20;

export class HubTracer {
  private readonly events = {
    tcp: [] as number[],
    upgrades: [] as number[],
    welcomes: [] as number[],
    resumes: [] as number[],
  };
  /** [at, lateness ms] of every tick later than 2 ticks. */
  private readonly stalls: Array<[number, number]> = [];
  private readonly disposers: Array<() => void> = [];

  constructor(tether: TetherServer, endpoint: Endpoint) {
    const record = (series: number[]) => () => {
      series.push(Date.now());
      if (series.length > MAX_EVENTS) series.splice(0, series.length - MAX_EVENTS);
    };
    const onTcp = record(this.events.tcp);
    const onUpgrade = record(this.events.upgrades);
    tether.httpServer.on('connection', onTcp);
    tether.httpServer.on('upgrade', onUpgrade);
    this.disposers.push(
      () => tether.httpServer.off('connection', onTcp),
      () => tether.httpServer.off('upgrade', onUpgrade),
      endpoint.on('connection', record(this.events.welcomes)),
      endpoint.on('resume', (event) => {
        if (event.resumed) record(this.events.resumes)();
      }),
    );
    let last = performance.now();
    const tick = setInterval(() => {
      const now = performance.now();
      const late = now - last - TICK_MS;
      last = now;
      if (late > 2 * TICK_MS && this.stalls.length < MAX_EVENTS) {
        this.stalls.push([Date.now(), Math.round(late)]);
      }
    }, TICK_MS);
    tick.unref();
    this.disposers.push(() => clearInterval(tick));
  }

  take(since: number, bucketMs: number): HubTrace {
    const bucketOf = (at: number) => Math.max(0, Math.floor((at - since) / bucketMs));
    const count = (times: readonly number[]) => {
      const out: number[] = [];
      for (const at of times) {
        if (at < since) continue;
        const i = bucketOf(at);
        while (out.length <= i) out.push(0);
        out[i] = (out[i] ?? 0) + 1;
      }
      return out;
    };
    const stallMs: number[] = [];
    for (const [at, ms] of this.stalls) {
      if (at < since) continue;
      const i = bucketOf(at);
      while (stallMs.length <= i) stallMs.push(0);
      stallMs[i] = Math.max(stallMs[i] ?? 0, ms);
    }
    return {
      tcp: count(this.events.tcp),
      upgrades: count(this.events.upgrades),
      welcomes: count(this.events.welcomes),
      resumes: count(this.events.resumes),
      stallMs,
    };
  }

  stop(): void {
    for (const dispose of this.disposers.splice(0)) dispose();
  }
}
