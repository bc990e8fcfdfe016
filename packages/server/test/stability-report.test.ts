/**
 * The server's stability vocabulary over real sockets, time from a ManualClock: `stale`
 * once an open connection missed a heartbeat interval, always before the 4008 cut, and
 * one call, `tether.stabilityReport()`, with connections by health, closes by cause (the
 * recent ones bounded) and recoveries.
 */
import { ManualClock } from '@tether/common';
import { describe, expect, it } from 'vitest';
import { STABILITY_DEFAULTS, type StaleEvent } from '../src/index.js';
import { RawClient, serverPerTest, until } from './helpers.js';

const server = serverPerTest();

async function connect(url: string, hello: Record<string, unknown> = {}): Promise<RawClient> {
  // No automatic protocol pong: a client is silent unless the test makes it speak.
  const c = await RawClient.open(url, { autoPong: false });
  server.keep(c);
  c.sendJson({ t: 'hello', v: 1, ...hello });
  await c.next((f) => f.t === 'welcome');
  return c;
}

describe('stale and the stability report', () => {
  it('emits stale after one silent interval and a sweep tick, before the 4008 cut, and reports it', async () => {
    const clock = new ManualClock();
    const started = await server.start(
      { heartbeatIntervalMs: 1_000, heartbeatTimeoutMs: 2_000 },
      { clock },
    );
    const s = started;
    const stale: StaleEvent[] = [];
    const order: string[] = [];
    s.endpoint.on('stale', (e) => {
      stale.push(e);
      order.push('stale');
    });
    s.endpoint.on('close', () => order.push('close'));
    const silent = await connect(s.url);
    const talking = await connect(s.url);
    clock.advance(999);
    expect(stale).toEqual([]);
    talking.sendJson({ t: 'pong', ts: clock.now(), rts: clock.now() });
    await until(
      () => [...s.endpoint.connections.values()].some((c) => c.info().messagesIn > 1),
      'the pong arrived',
    );
    // 1000: a whole interval of silence, but a connection that answers every ping is silent
    // that long plus a round trip (and longer when the pass pinging it runs late): not yet.
    clock.advance(1);
    expect(stale).toEqual([]);
    // 1250: the interval and one sweep tick (a quarter of the 1 s interval).
    clock.advance(250);
    expect(stale.map((e) => [e.silentMs, e.closesInMs])).toEqual([[1250, 1750]]);
    expect(s.tether.stabilityReport().endpoints[0]?.staleEvents).toBe(1);
    // 2250: no second event for the same silence; the talking client, silent since its
    // pong at 999, is stale now.
    clock.advance(1_000);
    expect(stale.map((e) => e.silentMs)).toEqual([1250, 1251]);
    expect(stale[0]?.connection.id).not.toBe(stale[1]?.connection.id);
    clock.advance(750); // 3000: the silent one is cut
    await until(() => order.includes('close'), 'the cut');
    expect(order.indexOf('stale')).toBeLessThan(order.indexOf('close'));
    await silent.waitClosed();

    const report = s.tether.stabilityReport();
    expect(report.connections).toEqual({ total: 1, ready: 1 });
    const endpoint = report.endpoints[0];
    expect(endpoint).toMatchObject({
      path: '/ws',
      heartbeatTimeouts: 1,
      closesByCode: { 4008: 1 },
      closesByCause: { heartbeat_timeout: 1 },
      recoveries: { ok: 0 },
    });
    expect(endpoint?.recentCloses).toEqual([
      expect.objectContaining({
        code: 4008,
        cause: 'heartbeat_timeout',
        initiatedBy: 'server',
        wasStale: true,
      }),
    ]);
    expect(report.health.ok + report.health.stale + report.health.degraded).toBe(1);
    expect(endpoint?.staleEvents).toBe(2);
  });

  it('counts recoveries, and keeps only the recent closes', async () => {
    const started = await server.start({});
    const s = started;
    const first = await connect(s.url);
    const welcome = first.frames.find((f) => f.t === 'welcome') as unknown as {
      sid: string;
      token: string;
    };
    first.close();
    await until(() => s.endpoint.connections.size === 0, 'first closed');
    const again = await connect(s.url, {
      resume: { sid: welcome.sid, token: welcome.token, seq: 0 },
    });
    expect(again.frames.find((f) => f.t === 'welcome')).toMatchObject({ resumed: true });
    await connect(s.url, { resume: { sid: 'nope', token: 'nope', seq: 0 } });
    for (let i = 0; i < STABILITY_DEFAULTS.recentCloses + 5; i++) {
      const c = await connect(s.url);
      c.close();
    }
    await until(() => s.endpoint.connections.size === 2, 'the loop closed');
    const endpoint = s.tether.stabilityReport().endpoints[0];
    expect(endpoint?.recoveries.ok).toBe(1);
    expect(endpoint?.recoveries.failed.unknown).toBe(1);
    expect(endpoint?.recentCloses).toHaveLength(STABILITY_DEFAULTS.recentCloses);
    expect(Object.values(endpoint?.closesByCode ?? {}).reduce((a, b) => a + b, 0)).toBe(
      STABILITY_DEFAULTS.recentCloses + 6,
    );
  });
});
