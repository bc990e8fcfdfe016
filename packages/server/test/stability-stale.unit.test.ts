import { ManualClock } from '@tether/common';
import { describe, expect, it } from 'vitest';
import type { TetherConnection } from '../src/index.js';
import { StabilityWatch, type StaleEvent } from '../src/stability.js';

/** A connection as the sweep sees it: open, last heard from at `lastSeenAt`. */
function subject(lastSeenAt: number) {
  return { state: 'open', lastSeenAt } as unknown as Parameters<StabilityWatch['sweep']>[0] &
    TetherConnection;
}

describe('stale: a missed heartbeat, not a healthy connection between ping and pong', () => {
  const timing = { heartbeatIntervalMs: 1_000, heartbeatTimeoutMs: 2_000, graceMs: 250 };

  it('does not report a connection whose last pong came an interval and a few ms ago', () => {
    // Its pong came at 0; the pass that pings it again runs 10 ms late, at 1,010: the next
    // pong is on its way. A threshold of exactly one interval reported it stale.
    const events: StaleEvent[] = [];
    const watch = new StabilityWatch(new ManualClock(), timing, (e) => events.push(e));
    watch.sweep(subject(0), 1_010, 'ping');
    watch.sweep(subject(0), 1_249, 'none');
    expect(events).toEqual([]);
  });

  it('reports one silent past the interval and a tick, once, and before any heartbeat cut', () => {
    const events: StaleEvent[] = [];
    const watch = new StabilityWatch(new ManualClock(), timing, (e) => events.push(e));
    const silent = subject(0);
    watch.sweep(silent, 1_250, 'none');
    watch.sweep(silent, 1_500, 'none');
    expect(events.map((e) => [e.silentMs, e.closesInMs])).toEqual([[1_250, 1_750]]);
    // A cut reports first even within the grace (a timeout shorter than the tick).
    const cut = subject(5_000);
    watch.sweep(cut, 5_100, 'heartbeat-timeout');
    expect(events.map((e) => e.silentMs)).toEqual([1_250, 100]);
  });
});
