/**
 * Issue 12 acceptance: three `tether serve --store redis://` processes on one real
 * redis-server, 60 clients spread over them. Each client is given every hub's URL, its
 * "home" hub first (20 start on each): the client's own failover, no load balancer.
 * Numbered publications enter through every node, numbered server -> session sends
 * (`/api/send`) through every node, and every client sends numbered reliable messages
 * that the hubs forward to one backend. One node is SIGKILLed mid-stream. Every client
 * ends with every publication of its topics and every message to its session exactly
 * once, in order; the clients of the killed node resumed (`resumed: true`) on the
 * others. The backend sees each client message, in order per session; only a message
 * the killed node was forwarding at the kill may come again (docs/cluster.md: it did not
 * commit), or one whose call a surviving hub retried after no answer in time (its retry
 * counter shows it; docs/backend.md), always with the same Idempotency-Key, and
 * deduplication by key is the sent sequence.
 */
import { TetherClient } from '@tether/client';
import { startRedis, systemDepMissing, waitFor, withTimeout } from '@tether/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { type BackendCall, startBackend } from '../../hub/test/backend-helpers.js';
import { type HubProcess, startHubProcess } from './hub-process.js';

const KEY = 'cluster-sigkill-api-key-0123456789';
const OPS_KEY = 'cluster-sigkill-ops-key-0123456789';
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
  topics: string[];
  /** `data` of each publication, by topic. */
  pubs: Map<string, number[]>;
  gaps: unknown[];
  messages: number[];
  /** `resumed` of each open. */
  opens: boolean[];
  /** The hub (index) of each open. */
  picks: number[];
  ready: Array<Promise<unknown>>;
  /** The client's reliable sends, resolved once acknowledged. */
  sends: Array<Promise<unknown>>;
}

function watch(i: number, urls: readonly string[]): Watched {
  // Its home hub first, then the others in turn.
  const order = [i % 3, (i + 1) % 3, (i + 2) % 3];
  const client = new TetherClient(
    order.map((n) => urls[n] ?? ''),
    { WebSocket: WebSocket as never, minReconnectDelayMs: 50, maxReconnectDelayMs: 400 },
  );
  cleanups.push(() => client.close());
  const topics = ['demo:all', `demo:t${i % 3}`];
  const w: Watched = {
    client,
    topics,
    pubs: new Map(),
    gaps: [],
    messages: [],
    opens: [],
    picks: [],
    ready: [],
    sends: [],
  };
  client.on('open', (e) => {
    w.opens.push(e.resumed);
    w.picks.push(urls.indexOf(client.url ?? ''));
  });
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
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${path} -> ${res.status} ${text}`);
}

/** `tether_backend_retries_total{event="message"}` of a hub: its calls repeated after no answer. */
async function messageRetries(hub: HubProcess): Promise<number> {
  const res = await fetch(`${hub.url}/metrics`, {
    headers: { authorization: `Bearer ${OPS_KEY}` },
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`/metrics -> ${res.status} ${text}`);
  const line = /^tether_backend_retries_total\{event="message"\} (\d+)/m.exec(text);
  return Number(line?.[1] ?? 0);
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

/** The backend's message calls of one session: `data.n`, its key, and the hub that called. */
function callsOf(calls: readonly BackendCall[], session: string) {
  return calls
    .filter((call) => call.event === 'message' && call.body.session === session)
    .map((call) => ({
      n: (call.body.data as { n: number }).n,
      key: String(call.headers['idempotency-key']),
      status: call.status,
      // Each hub calls the backend under its own base path: /h0, /h1, /h2.
      hub: Number(/^\/h(\d)\//.exec(call.path)?.[1] ?? -1),
    }));
}

const increasing = (ns: readonly number[]) => ns.every((n, k) => k === 0 || n > (ns[k - 1] ?? 0));

describe.skipIf(missing)('a cluster of three hubs on Redis, one SIGKILLed', () => {
  it('loses nothing: every publication, every session message and every client message once, in order', async () => {
    const redis = await startRedis();
    cleanups.push(() => redis.stop());
    const backend = await startBackend();
    cleanups.push(() => backend.close());
    const hubs: HubProcess[] = [];
    for (let n = 0; n < 3; n++) {
      const hub = await startHubProcess(
        [
          ...['--port', '0', '--host', '127.0.0.1', '--insecure'],
          ...['--store', `${redis.url}/0`, '--backend-url', `${backend.url}/h${n}`],
        ],
        {
          TETHER_API_KEY: KEY,
          TETHER_OPS_KEY: OPS_KEY,
          TETHER_LOG_LEVEL: 'warn',
          // Pages read their files next to their package's sources; the bundle has none.
          TETHER_DASHBOARD: 'false',
          TETHER_DEMO: 'false',
          TETHER_BACKEND_RETRY_MIN: '20ms',
          TETHER_BACKEND_RETRY_MAX: '200ms',
        },
      );
      cleanups.push(() => hub.stop());
      hubs.push(hub);
    }
    const urls = hubs.map((h) => `${h.url.replace(/^http/, 'ws')}/ws`);
    const clients = Array.from({ length: CLIENTS }, (_, i) => watch(i, urls));
    await withTimeout(
      Promise.all(
        clients.map((w) => waitFor(() => w.client.state === 'open' && w.opens.length > 0)),
      ),
      20_000,
      'every client open',
    );
    // 20 on each hub: every client is on its home hub.
    expect(clients.map((w) => w.picks[0])).toEqual(clients.map((_, i) => i % 3));
    const sids = clients.map((w) => w.client.sessionId ?? '');
    await withTimeout(
      Promise.all(clients.flatMap((w) => w.ready)),
      20_000,
      'every subscription ready',
    );

    // Each step: one publication per topic and one message per session, each entering
    // through a live node other than (mostly) the one holding the client; one reliable
    // send per client.
    const down = new Set<number>();
    const live = () => [0, 1, 2].filter((n) => !down.has(n));
    for (let step = 1; step <= STEPS; step++) {
      if (step === KILL_AT) {
        // Between steps: no API call is in flight to it, so every number is known sent.
        // Client messages may be in flight: being forwarded, or forwarded and not stored.
        await hubs[VICTIM]?.stop();
        down.add(VICTIM);
      }
      for (const w of clients) w.sends.push(w.client.send({ n: step }));
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
            picks: w.picks,
            opens: w.opens,
            state: w.client.state,
          })),
        )}`,
      );
    });
    await withTimeout(
      Promise.all(clients.flatMap((w) => w.sends)),
      30_000,
      'every client send acknowledged',
    );

    // A surviving hub forwards a message again only when a call of its own got no answer
    // in time: it retries with the same key (docs/backend.md), and counts the retry.
    const retries = await Promise.all(
      hubs.map((hub, n) => (down.has(n) ? Promise.resolve(0) : messageRetries(hub))),
    );
    let moved = 0;
    let again = 0;
    let retried = 0;
    for (const [i, w] of clients.entries()) {
      expect(w.messages).toEqual(range(STEPS));
      for (const t of w.topics) expect(w.pubs.get(t)).toEqual(range(STEPS));
      expect(w.gaps).toEqual([]);
      // Every reconnection resumed the session; the victim's clients moved elsewhere.
      expect(w.opens.slice(1).every((r) => r)).toBe(true);
      const victim = w.picks[0] === VICTIM;
      if (victim) {
        moved++;
        expect(w.opens.length).toBeGreaterThanOrEqual(2);
        expect(w.picks.at(-1)).not.toBe(VICTIM);
      } else {
        expect(w.picks).toEqual([i % 3]);
      }
      // Client -> backend: accepted, each key always the same message, and deduplication
      // by key is the sent sequence.
      const calls = callsOf(backend.calls, sids[i] ?? '');
      expect(calls.every((c) => c.status === 200 && c.hub >= 0)).toBe(true);
      // A repeat: only of a message the killed hub forwarded and did not store, once more
      // by the hub the client moved to. The backend may record the two in either order
      // (the killed hub's call can reach it after the survivor's), so they are compared
      // as a set.
      const byKey = new Map<string, (typeof calls)[number][]>();
      for (const c of calls) byKey.set(c.key, [...(byKey.get(c.key) ?? []), c]);
      const first = new Map<string, (typeof calls)[number]>();
      for (const [key, same] of byKey) {
        first.set(key, same[0] as (typeof calls)[number]);
        if (same.length === 1) continue;
        const detail = `client ${i} (picks ${JSON.stringify(w.picks)}, hub retries ${JSON.stringify(retries)}): ${JSON.stringify(same)}`;
        expect(new Set(same.map((c) => c.n)).size, detail).toBe(1);
        const fromVictim = same.filter((c) => c.hub === VICTIM).length;
        const survivors = new Set(same.filter((c) => c.hub !== VICTIM).map((c) => c.hub));
        expect(fromVictim, detail).toBeLessThanOrEqual(1);
        expect(survivors.size, detail).toBe(1);
        const survivor = [...survivors][0] as number;
        // Calls of the survivor beyond one: its own retries, nothing else.
        if (same.length - fromVictim > 1) {
          expect(retries[survivor] ?? 0, detail).toBeGreaterThan(0);
          retried++;
        }
        if (fromVictim === 1) again++;
      }
      expect([...first.values()].map((c) => c.n).sort((a, b) => a - b)).toEqual(range(STEPS));
      // In order per session, on each side of the kill.
      const before = calls.filter((c) => c.hub === VICTIM).map((c) => c.n);
      // A retry repeats its message at once (nothing after it is sent meanwhile).
      const after = calls
        .filter((c) => c.hub !== VICTIM)
        .map((c) => c.n)
        .filter((n, k, ns) => k === 0 || n !== ns[k - 1]);
      expect(increasing(before) && increasing(after)).toBe(true);
      if (victim) expect(after[0]).toBeLessThanOrEqual((before.at(-1) ?? 0) + 1);
      else expect(before).toEqual([]);
    }
    expect(moved).toBe(CLIENTS / 3);
    console.info(
      `cluster-sigkill: ${again} client messages forwarded again after the kill, ${retried} by a surviving hub's retry`,
    );
  });
});
