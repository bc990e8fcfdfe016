/**
 * Heartbeats through real sockets. The timing logic runs on a ManualClock (the server
 * takes it as `clock`): the test moves time, so "at interval + timeout, not before" is an
 * exact assertion that no CPU load can break. The real-clock tests use intervals of
 * seconds and assert only what happens (detected, destroyed), never how fast.
 * The rules themselves are unit tests: heartbeat-rules.test.ts.
 */
import { ManualClock } from '@tether/common';
import { createFaultProxy } from '@tether/testkit';
import { describe, expect, it } from 'vitest';
import type { CloseEvent } from '../src/index.js';
import { HOST, RawClient, type Started, serverPerTest, until } from './helpers.js';

const server = serverPerTest();

/** A server whose heartbeat time moves only with `clock.advance()`. */
async function startManual(clock: ManualClock): Promise<Started & { rtts: number[] }> {
  const started = await server.start(
    { heartbeatIntervalMs: 1_000, heartbeatTimeoutMs: 2_000 },
    { clock },
  );
  const rtts: number[] = [];
  started.endpoint.on('rtt', (e) => rtts.push(e.rttMs));
  return { ...started, rtts };
}

/**
 * How far to advance so that the first ping of the (only) connection goes out at the end
 * of the advance: its due time is spread over the interval (see ConnectionLiveness), and
 * the sweep (started at 0 when the socket arrived) pings on its 250 ms ticks.
 */
function toFirstPing(s: Started, clock: ManualClock): number {
  const conn = [...s.endpoint.connections.values()][0] as unknown as { nextPingAt: number };
  return Math.ceil(conn.nextPingAt / 250) * 250 - clock.monotonic();
}

async function connect(url: string, autoPong: boolean): Promise<RawClient> {
  return server.keep(await RawClient.connect(url, { autoPong }));
}

describe('heartbeats over real sockets, time from a ManualClock', () => {
  it('measures the RTT from an app pong that echoes the ping ts', async () => {
    const clock = new ManualClock();
    const s = await startManual(clock);
    // No automatic protocol pong: the app pong is the only way to measure.
    const c = await connect(s.url, false);
    clock.advance(toFirstPing(s, clock));
    const ping = await c.next((f) => f.t === 'ping');
    expect(ping.ts).toBe(clock.now());
    clock.advance(240);
    c.sendJson({ t: 'pong', ts: ping.ts, rts: clock.now() });
    await until(() => s.rtts.length === 1, 'an RTT from the app pong');
    expect(s.rtts).toEqual([240]);
    const conn = [...s.endpoint.connections.values()][0];
    expect(conn?.rttMs).toBe(240);
    expect(conn?.info().rttMs).toBe(240);
    // A pong from the future (a client clock ahead) is no measurement.
    c.sendJson({ t: 'pong', ts: clock.now() + 5_000, rts: clock.now() });
    c.sendJson({ t: 'pong', ts: ping.ts, rts: clock.now() });
    await until(() => s.rtts.length === 2, 'the second app pong');
    expect(s.rtts).toEqual([240, 240]);
  });

  it('measures the RTT from the protocol pong, for clients that only answer WebSocket pings', async () => {
    const clock = new ManualClock();
    const s = await startManual(clock);
    const c = await connect(s.url, true);
    // ws has queued its pong when it emits 'ping'; the server reads that pong only
    // after this handler returns, so it sees the clock 40 ms later.
    c.ws.once('ping', () => clock.advance(40));
    clock.advance(toFirstPing(s, clock));
    await until(() => s.rtts.length === 1, 'an RTT from the protocol pong');
    expect(s.rtts).toEqual([40]);
  });

  it('keeps an idle but live connection open far past interval + timeout (pongs count as traffic)', async () => {
    const clock = new ManualClock();
    const s = await startManual(clock);
    const c = await connect(s.url, true);
    // Ten intervals (10 s, interval + timeout is 3 s): the client sends nothing itself,
    // only ws's automatic answers to the protocol pings.
    for (let beat = 1; beat <= 10; beat += 1) {
      clock.advance(1_000);
      await until(() => s.rtts.length === beat, `the pong of heartbeat ${beat}`);
    }
    expect(s.endpoint.stats().heartbeatTimeouts).toBe(0);
    expect(c.ws.readyState).toBe(c.ws.OPEN);
  });

  it('probes a client that stated hello.appPings: false with WebSocket pings only, RTT from their pongs', async () => {
    const clock = new ManualClock();
    const s = await startManual(clock);
    const c = await RawClient.open(s.url, { autoPong: true });
    server.keep(c);
    c.sendJson({ t: 'hello', v: 1, appPings: false });
    await c.next((f) => f.t === 'welcome');
    let wsPings = 0;
    c.ws.on('ping', () => {
      wsPings += 1;
    });
    for (let beat = 1; beat <= 5; beat += 1) {
      clock.advance(1_000);
      await until(() => s.rtts.length === beat, `the pong of heartbeat ${beat}`);
    }
    // One probe per interval: five WebSocket pings, no app-level ping frame at all.
    expect(wsPings).toBe(5);
    expect(c.frames.filter((f) => f.t === 'ping')).toEqual([]);
    expect(s.endpoint.stats().heartbeatTimeouts).toBe(0);
    // It still gets an app pong when it pings (its own liveness watch).
    c.sendJson({ t: 'ping', ts: 7 });
    const pong = await c.next((f) => f.t === 'pong');
    expect(pong.ts).toBe(7);
  });

  it('spreads the pings of connections opened together over the interval', async () => {
    const clock = new ManualClock();
    const s = await startManual(clock);
    for (let i = 0; i < 16; i += 1) await connect(s.url, true);
    // The sweep ticks every 250 ms (a quarter of the 1 s interval): one interval pings each once.
    clock.advance(1_000);
    await until(() => s.rtts.length === 16, 'every connection pinged once in the first interval');
    // Every pong is read after the advance (at 1 s), so each RTT is 1 s minus when that
    // ping went out: opened at the same instant, yet not all pinged by the same pass.
    expect(new Set(s.rtts).size).toBeGreaterThan(1);
  });

  it('declares a silent connection dead at interval + timeout, not a millisecond before: 4008', async () => {
    const clock = new ManualClock();
    const s = await startManual(clock);
    const closes: CloseEvent[] = [];
    s.endpoint.on('close', (e) => closes.push(e));
    const c = await connect(s.url, false);
    // Its last traffic is the hello, at 0; it answers no ping.
    clock.advance(2_999);
    expect(s.endpoint.stats().heartbeatTimeouts).toBe(0);
    await c.next((f) => f.t === 'ping');
    await c.next((f) => f.t === 'ping'); // at 1 s and 2 s, unanswered
    expect(s.endpoint.stats().heartbeatTimeouts).toBe(0);
    clock.advance(1);
    expect(s.endpoint.stats().heartbeatTimeouts).toBe(1);
    await until(() => closes.length === 1, 'the close event');
    expect(closes[0]).toMatchObject({
      code: 4008,
      reason: 'heartbeat timeout',
      clean: false,
      initiatedBy: 'server',
    });
    await c.waitClosed();
  });
});

describe('the heartbeat timestamps of a connection that left', () => {
  it('keeps its own last inbound time after its slot in the liveness table went to a new connection', async () => {
    const clock = new ManualClock();
    const s = await startManual(clock);
    const first = await connect(s.url, true);
    clock.advance(100);
    first.sendJson({ t: 'ping', ts: 1 });
    await first.next((f) => f.t === 'pong');
    const left = [...s.endpoint.connections.values()][0];
    const heard = clock.now();
    expect(left?.info().lastSeenAt).toBe(heard);
    let closes = 0;
    s.endpoint.on('close', () => {
      closes += 1;
    });
    first.close();
    await until(() => closes === 1, 'the first connection gone');
    clock.advance(400);
    const second = await connect(s.url, true);
    clock.advance(200);
    second.sendJson({ t: 'ping', ts: 2 });
    await second.next((f) => f.t === 'pong');
    const now = [...s.endpoint.connections.values()][0];
    expect(now).not.toBe(left);
    expect(now?.info().lastSeenAt).toBe(clock.now());
    // Where the first one was last heard from, 600 ms ago.
    expect(left?.info().lastSeenAt).toBe(heard);
    expect(heard).toBe(clock.now() - 600);
  });
});

/**
 * A server with `options` and one raw client whose link through a fault proxy is then
 * paused (the half-open link of a dead peer); the server's close events are recorded.
 */
async function stalledClient(
  options: Parameters<typeof server.start>[0],
): Promise<{ started: Started; closes: CloseEvent[] }> {
  const started = await server.start(options);
  const proxy = server.proxy(
    await createFaultProxy({ target: { host: HOST, port: started.port } }),
  );
  const closes: CloseEvent[] = [];
  started.endpoint.on('close', (e) => closes.push(e));
  server.keep(await RawClient.connect(`ws://${HOST}:${proxy.port}/ws`));
  proxy.pause();
  return { started, closes };
}

describe('heartbeats over real sockets and the real clock', () => {
  it('terminates a half-open connection and reports 4008', async () => {
    // Seconds, not milliseconds: a loaded machine must not fake a half-open link.
    // No bytes, no FIN, no RST: only heartbeats can notice.
    const { started, closes } = await stalledClient({
      heartbeatIntervalMs: 1_000,
      heartbeatTimeoutMs: 1_000,
    });
    await until(() => closes.length === 1, 'server noticed the half-open link', 20_000);
    expect(closes[0]).toMatchObject({
      code: 4008,
      reason: 'heartbeat timeout',
      clean: false,
      initiatedBy: 'server',
    });
    expect(started.endpoint.stats().heartbeatTimeouts).toBe(1);
    expect(started.endpoint.connections.size).toBe(0);
  });

  it('destroys a socket whose client never answers the close frame after closeGraceMs', async () => {
    const { started, closes } = await stalledClient({ closeGraceMs: 500 });
    const conn = [...started.endpoint.connections.values()][0];
    conn?.close(1000, 'bye');
    await until(() => closes.length === 1, 'socket destroyed after the grace', 20_000);
    expect(closes[0]).toMatchObject({
      code: 1000,
      reason: 'bye',
      clean: false,
      initiatedBy: 'server',
    });
  });
});
