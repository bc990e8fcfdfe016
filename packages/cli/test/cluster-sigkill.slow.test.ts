/**
 * Issue 12 acceptance: three `tether serve --store redis://` processes on one real
 * redis-server, 60 clients spread over them (each behind a front that forwards to the
 * first node of its list that is up: a load balancer without sticky sessions),
 * numbered publications entering through every node and numbered server -> session
 * sends (`/api/send`) through every node. One node is SIGKILLed mid-stream. Every client
 * ends with every publication of its topics and every message to its session exactly
 * once, in order; the clients of the killed node resumed (`resumed: true`) elsewhere.
 */
import { TetherClient } from '@tether/client';
import { startRedis, systemDepMissing, waitFor, withTimeout } from '@tether/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { type Front, startFront, Upstreams } from '../../store-redis/test/switch-front.js';
import { type HubProcess, startHubProcess } from './hub-process.js';

const KEY = 'cluster-sigkill-api-key-0123456789';
const CLIENTS = 60;
const STEPS = 24;
const KILL_AT = 12;
const VICTIM = 0;
const TOPICS = ['demo:all', 'demo:t0', 'demo:t1', 'demo:t2'];
const missing = systemDepMissing('redis-server');
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await withTimeout(c(), 15_000, 'cleanup');
});

interface Watched {
  client: TetherClient;
  front: Front;
  topics: string[];
  /** `data` of each publication, by topic. */
  pubs: Map<string, number[]>;
  gaps: unknown[];
  messages: number[];
  /** `resumed` of each open. */
  opens: boolean[];
  ready: Array<Promise<unknown>>;
}

function watch(i: number, front: Front): Watched {
  const client = new TetherClient(front.url, {
    WebSocket: WebSocket as never,
    minReconnectDelayMs: 50,
    maxReconnectDelayMs: 400,
  });
  cleanups.push(() => client.close());
  const topics = ['demo:all', `demo:t${i % 3}`];
  const w: Watched = {
    client,
    front,
    topics,
    pubs: new Map(),
    gaps: [],
    messages: [],
    opens: [],
    ready: [],
  };
  client.on('open', (e) => w.opens.push(e.resumed));
  client.on('message', (e) => w.messages.push(e.data as number));
  for (const topic of topics) {
    const got: number[] = [];
    w.pubs.set(topic, got);
    const sub = client.subscribe(topic);
    sub.on('pub', (e) => got.push(e.data as number));
    sub.on('gap', (e) => w.gaps.push(e));
    w.ready.push(sub.ready());
  }
  return w;
}

async function api(hub: HubProcess, path: string, body: unknown): Promise<void> {
  const res = await fetch(`${hub.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (res.status !== 200) throw new Error(`${path} -> ${res.status} ${await res.text()}`);
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

describe.skipIf(missing)('a cluster of three hubs on Redis, one SIGKILLed', () => {
  it('loses nothing: every publication and every session message once, in order, on every client', async () => {
    const redis = await startRedis();
    cleanups.push(() => redis.stop());
    const hubs: HubProcess[] = [];
    for (let n = 0; n < 3; n++) {
      const hub = await startHubProcess(
        ['--port', '0', '--host', '127.0.0.1', '--insecure', '--store', `${redis.url}/0`],
        {
          TETHER_API_KEY: KEY,
          TETHER_LOG_LEVEL: 'warn',
          // Pages read their files next to their package's sources; the bundle has none.
          TETHER_DASHBOARD: 'false',
          TETHER_DEMO: 'false',
        },
      );
      cleanups.push(() => hub.stop());
      hubs.push(hub);
    }
    const ups = new Upstreams(hubs.map((h) => Number(new URL(h.url).port)));
    const clients: Watched[] = [];
    for (let i = 0; i < CLIENTS; i++) {
      const front = await startFront(ups, [i % 3, (i + 1) % 3, (i + 2) % 3]);
      cleanups.push(() => front.close());
      clients.push(watch(i, front));
    }
    await withTimeout(
      Promise.all(
        clients.map((w) => waitFor(() => w.client.state === 'open' && w.opens.length > 0)),
      ),
      20_000,
      'every client open',
    );
    const sids = clients.map((w) => w.client.sessionId ?? '');
    await withTimeout(
      Promise.all(clients.flatMap((w) => w.ready)),
      20_000,
      'every subscription ready',
    );

    // Each step: one publication per topic and one message per session, each entering
    // through a live node other than (mostly) the one holding the client.
    const live = () => [0, 1, 2].filter((n) => ups.isUp(n));
    for (let step = 1; step <= STEPS; step++) {
      if (step === KILL_AT) {
        // Between steps: no API call is in flight to it, so every number is known sent.
        await hubs[VICTIM]?.stop();
        ups.markDown(VICTIM);
      }
      const nodes = live();
      const via = (k: number) => hubs[nodes[(step + k) % nodes.length] ?? 0] as HubProcess;
      await Promise.all([
        ...TOPICS.map((topic, k) => api(via(k), '/api/publish', { topic, data: step })),
        ...sids.map((session, i) => api(via(i + 1), '/api/send', { session, data: step })),
      ]);
    }

    const complete = (w: Watched) =>
      w.messages.length >= STEPS && w.topics.every((t) => (w.pubs.get(t)?.length ?? 0) >= STEPS);
    await withTimeout(
      Promise.all(clients.map((w) => waitFor(() => complete(w), { timeoutMs: 30_000 }))),
      35_000,
      'every client complete',
    ).catch((err: unknown) => {
      const behind = clients.filter((w) => !complete(w)).slice(0, 5);
      throw new Error(
        `${String(err)}; behind: ${JSON.stringify(
          behind.map((w) => ({
            messages: w.messages.length,
            pubs: [...w.pubs.values()].map((p) => p.length),
            picks: w.front.picks,
            opens: w.opens,
            state: w.client.state,
          })),
        )}`,
      );
    });

    let moved = 0;
    for (const w of clients) {
      expect(w.messages).toEqual(range(STEPS));
      for (const t of w.topics) expect(w.pubs.get(t)).toEqual(range(STEPS));
      expect(w.gaps).toEqual([]);
      // Every reconnection resumed the session; the victim's clients moved elsewhere.
      expect(w.opens.slice(1).every((r) => r)).toBe(true);
      if (w.front.picks[0] === VICTIM) {
        moved++;
        expect(w.opens.length).toBeGreaterThanOrEqual(2);
        expect(w.front.picks.at(-1)).not.toBe(VICTIM);
      }
    }
    expect(moved).toBe(CLIENTS / 3);
  });
});
