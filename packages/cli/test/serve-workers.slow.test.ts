/**
 * `tether serve --workers N` as a real process tree (Node cluster) over a real
 * redis-server: every worker serves clients on the one port, `/stats`, `/metrics`,
 * `/healthz` and `/readyz` answer for all of them from any worker, a SIGKILLed worker is
 * replaced and its clients resume their sessions, SIGTERM drains every worker and the
 * primary exits 0. Without Redis, more than one worker is refused with the reason.
 */
import { type AddressInfo, createServer } from 'node:net';
import { TetherClient, type TetherOpenEvent } from '@tether/client';
import { type RedisInstance, startRedis, systemDepMissing, waitFor } from '@tether/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { BenchReport } from '../src/bench/run.js';
import { main } from '../src/index.js';
import { capture } from './cli-helpers.js';
import { type HubProcess, startHubProcess } from './hub-process.js';

const missing = systemDepMissing('redis-server');
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface PerWorker {
  slot: number;
  pid: number;
  state: string;
  restarts: number;
  connections: number | null;
}
interface ClusterStatsBody {
  workers: number;
  connections: { total: number };
  perWorker: PerWorker[];
  connectionList: Array<{ id: string; worker: number }>;
}

async function getJson<T>(url: string): Promise<{ status: number; body: T }> {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as T };
}

async function metric(hub: HubProcess, line: RegExp): Promise<number | undefined> {
  const text = await (await fetch(`${hub.url}/metrics`)).text();
  const match = text.split('\n').find((l) => line.test(l));
  return match === undefined ? undefined : Number(match.split(' ').at(-1));
}

describe('tether serve --workers', () => {
  it('refuses more than one worker without a Redis store, saying why', async () => {
    const io = capture();
    const code = await main(['serve', '--workers', '2', '--store', 'memory', '--port', '0'], {
      io,
      env: {},
    });
    expect(code).toBe(2);
    expect(io.err.join('\n')).toContain(
      '--workers: 2 workers need a redis:// store (--store is memory): sessions and topics must be shared by the worker processes',
    );
  });

  it.skipIf(missing)(
    'fails the start (exit 1) instead of forking forever when the workers cannot listen',
    { timeout: 60_000 },
    async () => {
      const redis: RedisInstance = await startRedis();
      cleanups.push(() => redis.stop());
      const taken = createServer();
      await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
      cleanups.push(() => new Promise((resolve) => taken.close(resolve)));
      const port = (taken.address() as AddressInfo).port;
      await expect(
        startHubProcess(
          ['--workers', '2', '--store', `${redis.url}/0`, '--port', String(port), '--insecure'],
          { TETHER_DASHBOARD: 'false', TETHER_DEMO: 'false', TETHER_LOG_LEVEL: 'warn' },
          { timeoutMs: 40_000 },
        ),
      ).rejects.toThrow(
        /hub exited before listening \(1\)[\s\S]*tether serve: cannot start: worker \d \(pid \d+\) exited \(code 1\) before listening/,
      );
    },
  );

  it.skipIf(missing)(
    'workers whose primary was SIGKILLed exit instead of holding the port',
    { timeout: 60_000 },
    async () => {
      const redis: RedisInstance = await startRedis();
      cleanups.push(() => redis.stop());
      const hub = await startHubProcess(
        ['--workers', '2', '--store', `${redis.url}/0`, '--port', '0', '--insecure'],
        { TETHER_DASHBOARD: 'false', TETHER_DEMO: 'false', TETHER_LOG_LEVEL: 'warn' },
        { timeoutMs: 40_000 },
      );
      cleanups.push(() => hub.stop());
      const { body } = await getJson<{ perWorker: PerWorker[] }>(`${hub.url}/healthz`);
      const pids = body.perWorker.map((w) => w.pid);
      expect(pids).toHaveLength(2);
      const alive = (pid: number): boolean => {
        try {
          process.kill(pid, 0);
          return true;
        } catch {
          return false;
        }
      };
      expect(pids.every(alive)).toBe(true);
      process.kill(hub.pid, 'SIGKILL');
      await waitFor(() => !pids.some(alive), {
        timeoutMs: 20_000,
        message: 'the orphaned workers exited',
      });
    },
  );

  it.skipIf(missing)(
    'serves from every worker, aggregates ops, replaces a killed worker whose clients resume, drains on SIGTERM',
    { timeout: 90_000 },
    async () => {
      const redis: RedisInstance = await startRedis();
      cleanups.push(() => redis.stop());
      const hub = await startHubProcess(
        [
          '--workers',
          '2',
          '--store',
          `${redis.url}/0`,
          '--port',
          '0',
          '--insecure',
          '--drain-timeout',
          '3s',
        ],
        // Pages read their files next to their package's sources; the bundle has none.
        { TETHER_DASHBOARD: 'false', TETHER_DEMO: 'false', TETHER_LOG_LEVEL: 'warn' },
        { timeoutMs: 40_000 },
      );
      cleanups.push(() => hub.stop());
      expect(hub.output).toMatch(/with 2 workers \(primary pid \d+\)/);

      const wsUrl = `${hub.url.replace('http', 'ws')}/ws`;
      const clients = Array.from({ length: 8 }, () => {
        const client = new TetherClient(wsUrl, {
          WebSocket: WebSocket as never,
          minReconnectDelayMs: 50,
          maxReconnectDelayMs: 500,
        });
        const opens: TetherOpenEvent[] = [];
        client.on('open', (e) => opens.push(e));
        cleanups.push(async () => client.close());
        return { client, opens };
      });
      await waitFor(() => clients.every((c) => c.opens.length === 1), {
        timeoutMs: 20_000,
        message: 'every client open',
      });

      // Each worker serves some; any worker answers for both.
      const stats = await waitFor(
        async () => {
          const { body } = await getJson<ClusterStatsBody>(`${hub.url}/stats?connections=100`);
          return body.connections.total === 8 ? body : undefined;
        },
        { timeoutMs: 10_000, message: '/stats counting 8 connections' },
      );
      expect(stats.workers).toBe(2);
      expect(stats.perWorker.map((w) => w.slot)).toEqual([1, 2]);
      for (const w of stats.perWorker) expect(w.connections).toBeGreaterThan(0);
      expect(stats.perWorker.reduce((a, w) => a + (w.connections ?? 0), 0)).toBe(8);
      expect(await metric(hub, /^tether_connections\{endpoint="\/ws"\}/)).toBe(8);
      expect(await metric(hub, /^tether_workers /)).toBe(2);
      const ready = await getJson<{ status: string; checks: Record<string, string> }>(
        `${hub.url}/readyz`,
      );
      expect(ready).toEqual({
        status: 200,
        body: { status: 'ready', workers: 2, checks: { 'worker 1': 'ok', 'worker 2': 'ok' } },
      });

      // SIGKILL worker 1: it is replaced, and its clients resume their sessions.
      const victim = stats.perWorker.find((w) => w.slot === 1) as PerWorker;
      const onVictim = new Set(
        stats.connectionList.filter((row) => row.worker === 1).map((row) => row.id),
      );
      const victimClients = clients.filter((c) => onVictim.has(c.opens[0]?.connectionId ?? ''));
      expect(victimClients.length).toBe(victim.connections);
      process.kill(victim.pid, 'SIGKILL');
      await waitFor(() => victimClients.every((c) => c.opens.length === 2), {
        timeoutMs: 20_000,
        message: "the killed worker's clients reconnected",
      });
      for (const c of victimClients) {
        expect(c.opens[1]).toMatchObject({ resumed: true, sessionId: c.opens[0]?.sessionId });
      }
      const health = await waitFor(
        async () => {
          const { body } = await getJson<{ perWorker: PerWorker[] }>(`${hub.url}/healthz`);
          const slot1 = body.perWorker.find((w) => w.slot === 1);
          return slot1?.state === 'running' && slot1.pid !== victim.pid ? body : undefined;
        },
        { timeoutMs: 20_000, message: 'worker 1 replaced' },
      );
      expect(health.perWorker.find((w) => w.slot === 1)?.restarts).toBe(1);
      expect(hub.output).toContain(
        `worker 1 (pid ${victim.pid}) exited (signal SIGKILL); replacing it in 0 ms`,
      );
      expect(await metric(hub, /^tether_worker_restarts_total /)).toBe(1);
      await waitFor(async () => (await metric(hub, /^tether_connections\{/)) === 8, {
        timeoutMs: 10_000,
        message: 'all 8 connections counted again',
      });

      // SIGTERM: every worker drains, the primary exits 0.
      const goodbyes: number[] = [];
      for (const c of clients) c.client.on('goodbye', (e) => goodbyes.push(e.code));
      process.kill(hub.pid, 'SIGTERM');
      expect(await hub.exited).toBe(0);
      expect(goodbyes.length).toBe(8);
      expect(hub.output).toContain('tether: SIGTERM received, draining 2 workers');
      expect(hub.output).toMatch(/worker 1 \(pid \d+\) stopped \(code 0\)/);
      expect(hub.output).toMatch(/worker 2 \(pid \d+\) stopped \(code 0\)/);
    },
  );

  it.skipIf(missing)(
    'holds idle connections with heartbeats on 3 workers: tether bench idle --url reports RSS and CPU of all of them',
    { timeout: 120_000 },
    async () => {
      // CI size; the 50,000-connection run of docs/operations.md uses the same commands.
      const connections = 2_000;
      const redis: RedisInstance = await startRedis();
      cleanups.push(() => redis.stop());
      const hub = await startHubProcess(
        ['--workers', '3', '--store', `${redis.url}/0`, '--port', '0', '--insecure'],
        {
          TETHER_DASHBOARD: 'false',
          TETHER_DEMO: 'false',
          TETHER_LOG_LEVEL: 'warn',
          TETHER_HEARTBEAT_INTERVAL: '1s',
          TETHER_MAX_CONNECTIONS_PER_IP: '100000',
        },
        { timeoutMs: 40_000 },
      );
      cleanups.push(() => hub.stop());
      const io = capture();
      const wsUrl = `${hub.url.replace('http', 'ws')}/ws`;
      const code = await main(
        [
          'bench',
          'idle',
          '--url',
          wsUrl,
          '--connections',
          String(connections),
          '--addresses',
          '4',
          '--hold',
          '3s',
          '--json',
        ],
        { io },
      );
      const report = JSON.parse(io.out.join('\n')) as BenchReport;
      expect(report.scenarios.flatMap((s) => s.failures)).toEqual([]);
      expect(code).toBe(0);
      expect(report.target.kind).toBe('external');
      const idle = report.scenarios.find((s) => s.scenario === 'idle');
      const value = (key: string) => idle?.metrics.find((m) => m.key === key)?.value;
      expect(value('connections')).toBe(connections);
      expect(value('dropped')).toBe(0);
      // From the aggregated /metrics: every hub process's CPU and memory.
      expect(value('rssTotalPerConnectionKiB')).toBeGreaterThan(0);
      expect(value('rssPerConnectionKiB')).not.toBeNull();
      expect(value('serverCpuIdlePercent')).not.toBeNull();
      const { body } = await getJson<ClusterStatsBody>(`${hub.url}/stats`);
      // Every worker took a share (round robin), and every connection was closed after.
      expect(body.perWorker.map((w) => w.state)).toEqual(['running', 'running', 'running']);
      const accepted = (body as unknown as { totals: { accepted: number } }).totals.accepted;
      expect(accepted).toBe(connections);
    },
  );
});
