/**
 * The heartbeat rules and the one sweep that applies them, on plain numbers and a
 * ManualClock (unit tier): no socket, no real time. heartbeat.test.ts drives the same
 * rules through real sockets.
 */
import { type Clock, ManualClock } from '@tether/common';
import { describe, expect, it } from 'vitest';
import {
  type HeartbeatSubject,
  HeartbeatSweep,
  heartbeatAction,
  type SweepTarget,
  sweepTickMs,
} from '../src/heartbeat.js';

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
