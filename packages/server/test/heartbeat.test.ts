import { type Clock, ManualClock } from '@tether/common';
import { createFaultProxy, type FaultProxy } from '@tether/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type HeartbeatSubject,
  HeartbeatSweep,
  heartbeatAction,
  type SweepTarget,
  sweepTickMs,
} from '../src/heartbeat.js';
import type { CloseEvent } from '../src/index.js';
import { HOST, RawClient, type Started, startTether, until } from './helpers.js';

const timing = {
  heartbeatIntervalMs: 1000,
  heartbeatTimeoutMs: 500,
  handshakeTimeoutMs: 800,
  closeGraceMs: 300,
};

function subject(fields: Partial<HeartbeatSubject>): HeartbeatSubject {
  return {
    state: 'open',
    openedAt: 0,
    lastSeenAt: 0,
    nextPingAt: 1000,
    closingSince: undefined,
    ...fields,
  };
}

describe('heartbeat rules', () => {
  it('pings when due, and only then', () => {
    expect(heartbeatAction(subject({}), 999, timing)).toBe('none');
    expect(heartbeatAction(subject({}), 1000, timing)).toBe('ping');
  });

  it('declares a connection silent for interval + timeout dead, whatever the ping schedule', () => {
    expect(heartbeatAction(subject({ lastSeenAt: 100, nextPingAt: 9999 }), 1599, timing)).toBe(
      'none',
    );
    expect(heartbeatAction(subject({ lastSeenAt: 100, nextPingAt: 9999 }), 1600, timing)).toBe(
      'heartbeat-timeout',
    );
  });

  it('times out a handshake without hello, and a close the client never answers', () => {
    expect(heartbeatAction(subject({ state: 'handshake' }), 799, timing)).toBe('none');
    expect(heartbeatAction(subject({ state: 'handshake' }), 800, timing)).toBe('handshake-timeout');
    expect(heartbeatAction(subject({ state: 'closing', closingSince: 50 }), 349, timing)).toBe(
      'none',
    );
    expect(heartbeatAction(subject({ state: 'closing', closingSince: 50 }), 350, timing)).toBe(
      'terminate',
    );
    expect(heartbeatAction(subject({ state: 'closed' }), 1e9, timing)).toBe('none');
  });

  it('ticks at a quarter of the smallest deadline, never below 5 ms', () => {
    expect(sweepTickMs(timing)).toBe(75);
    expect(sweepTickMs({ ...timing, closeGraceMs: 8 })).toBe(5);
    expect(
      sweepTickMs({
        heartbeatIntervalMs: 25_000,
        heartbeatTimeoutMs: 10_000,
        handshakeTimeoutMs: 10_000,
        closeGraceMs: 5_000,
      }),
    ).toBe(1250);
  });
});

describe('one sweep for all connections', () => {
  it('runs one timer for every target, at the smallest tick, and stops when idle', () => {
    const clock = new ManualClock();
    const sweep = new HeartbeatSweep(clock);
    const runs: string[] = [];
    let busy = true;
    const target = (name: string, tickMs: number): SweepTarget => ({
      tickMs,
      sweep: () => {
        runs.push(name);
        return busy;
      },
    });
    const judged: boolean[] = [];
    sweep.add({
      tickMs: 100,
      sweep: (_now, judge) => {
        runs.push('a');
        judged.push(judge);
        return busy;
      },
    });
    sweep.add(target('b', 40));
    sweep.wake();
    sweep.wake();
    expect(clock.pending).toBe(1);
    clock.advance(40);
    expect(runs).toEqual(['a', 'b']);
    expect(judged).toEqual([true]);
    expect(clock.pending).toBe(1);
    busy = false;
    clock.advance(40);
    expect(sweep.running).toBe(false);
    expect(clock.pending).toBe(0);
  });

  it('only pings on a pass that runs late (an event-loop stall): silence is no evidence then', () => {
    const manual = new ManualClock();
    let stalled = 0;
    // A clock whose monotonic time jumps while no timer fires: a stalled event loop.
    const clock: Clock = {
      now: () => manual.now(),
      monotonic: () => manual.monotonic() + stalled,
      setTimeout: (fn, ms) => manual.setTimeout(fn, ms),
      clearTimeout: (handle) => manual.clearTimeout(handle),
    };
    const sweep = new HeartbeatSweep(clock);
    const judged: boolean[] = [];
    sweep.add({
      tickMs: 50,
      sweep: (_now, judge) => {
        judged.push(judge);
        return true;
      },
    });
    sweep.wake();
    manual.advance(50);
    stalled = 400;
    manual.advance(50);
    manual.advance(50);
    expect(judged).toEqual([true, false, true]);
    sweep.stop();
    expect(manual.pending).toBe(0);
  });
});

describe('heartbeats over real sockets', () => {
  let started: Started | undefined;
  let proxy: FaultProxy | undefined;
  const clients: RawClient[] = [];

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    proxy?.resume();
    await started?.tether.close({ drainTimeoutMs: 500 });
    await proxy?.close();
    started = undefined;
    proxy = undefined;
  });

  it('sends WebSocket pings and app pings every interval and records RTT', async () => {
    started = await startTether({ heartbeatIntervalMs: 100, heartbeatTimeoutMs: 200 });
    const c = await RawClient.connect(started.url);
    clients.push(c);
    let protocolPings = 0;
    c.ws.on('ping', () => {
      protocolPings += 1;
    });
    const appPing = await c.next((f) => f.t === 'ping');
    expect(typeof appPing.ts).toBe('number');
    await until(() => protocolPings >= 1, 'a protocol ping');
    const conn = [...started.endpoint.connections.values()][0];
    // ws answers protocol pings by itself: the server measures RTT from the pong.
    await until(() => conn?.rttMs !== undefined, 'rtt from a protocol pong');
    // An app pong echoing the ping's ts also yields an RTT.
    c.sendJson({ t: 'pong', ts: appPing.ts, rts: Date.now() });
    await until(() => (conn?.info().lastSeenAt ?? 0) > 0, 'seen');
    expect(conn?.rttMs).toBeGreaterThanOrEqual(0);
  });

  it('keeps an idle but live connection open past interval + timeout (pongs count as traffic)', async () => {
    started = await startTether({ heartbeatIntervalMs: 100, heartbeatTimeoutMs: 300 });
    const c = await RawClient.connect(started.url);
    clients.push(c);
    // Wait for 6 heartbeat periods (past interval + timeout): the client sends nothing
    // itself, only ws's automatic answers to protocol pings.
    for (let i = 0; i < 6; i += 1) await c.next((f) => f.t === 'ping', 2000);
    expect(started.endpoint.stats().heartbeatTimeouts).toBe(0);
    expect(c.ws.readyState).toBe(c.ws.OPEN);
  });

  it('terminates a half-open connection within interval + timeout and reports 4008', async () => {
    started = await startTether({ heartbeatIntervalMs: 200, heartbeatTimeoutMs: 300 });
    proxy = await createFaultProxy({ target: { host: HOST, port: started.port } });
    const closes: CloseEvent[] = [];
    started.endpoint.on('close', (e) => closes.push(e));
    const c = await RawClient.connect(`ws://${HOST}:${proxy.port}/ws`);
    clients.push(c);
    proxy.pause(); // no bytes, no FIN, no RST: only heartbeats can notice
    await until(() => closes.length === 1, 'server noticed the half-open link', 5000);
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
    started = await startTether({ closeGraceMs: 100 });
    proxy = await createFaultProxy({ target: { host: HOST, port: started.port } });
    const closes: CloseEvent[] = [];
    started.endpoint.on('close', (e) => closes.push(e));
    const c = await RawClient.connect(`ws://${HOST}:${proxy.port}/ws`);
    clients.push(c);
    proxy.pause();
    const conn = [...started.endpoint.connections.values()][0];
    conn?.close(1000, 'bye');
    await until(() => closes.length === 1, 'socket destroyed after the grace', 5000);
    expect(closes[0]).toMatchObject({
      code: 1000,
      reason: 'bye',
      clean: false,
      initiatedBy: 'server',
    });
  });
});
