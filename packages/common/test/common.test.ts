import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import {
  backoffCeiling,
  checkInt,
  checkKnownKeys,
  DisposerBag,
  Emitter,
  formatDuration,
  fullJitterDelay,
  hintedDelay,
  isClock,
  listen,
  ManualClock,
  OptionError,
  parseDuration,
  Sweep,
  systemClock,
  Timer,
} from '../src/index.js';

describe('ManualClock', () => {
  it('fires due timers in order, including timers they schedule', () => {
    const clock = new ManualClock(1000);
    const fired: string[] = [];
    clock.setTimeout(() => fired.push('b@20'), 20);
    clock.setTimeout(() => {
      fired.push('a@10');
      clock.setTimeout(() => fired.push('c@15'), 5);
    }, 10);
    const cancelled = clock.setTimeout(() => fired.push('never'), 12);
    clock.clearTimeout(cancelled);
    clock.advance(20);
    expect(fired).toEqual(['a@10', 'c@15', 'b@20']);
    expect(clock.now()).toBe(1020);
    expect(clock.monotonic()).toBe(20);
    expect(clock.pending).toBe(0);
  });

  it('moves the wall clock alone on skew, firing nothing (a frozen tab)', () => {
    const clock = new ManualClock(0);
    let fired = false;
    clock.setTimeout(() => {
      fired = true;
    }, 10);
    clock.skewWallClock(60_000);
    expect(fired).toBe(false);
    expect(clock.now()).toBe(60_000);
    expect(clock.monotonic()).toBe(0);
  });
});

describe('Timer and Sweep', () => {
  it('a restarted timer never runs its previous callback', () => {
    const clock = new ManualClock();
    const timer = new Timer('t', clock);
    const runs: string[] = [];
    timer.start(10, () => runs.push('old'));
    timer.start(10, () => runs.push('new'));
    clock.advance(50);
    expect(runs).toEqual(['new']);
    expect(timer.active).toBe(false);
    timer.start(10, () => runs.push('cleared'));
    timer.clear();
    clock.advance(50);
    expect(runs).toEqual(['new']);
  });

  it('a sweep runs periodically on one timer, survives a throwing task, and stops', () => {
    const clock = new ManualClock();
    let runs = 0;
    const sweep = new Sweep(
      's',
      100,
      () => {
        runs += 1;
        if (runs === 2) throw new Error('task failed');
      },
      clock,
    );
    sweep.start();
    sweep.start();
    clock.advance(100);
    expect(() => clock.advance(100)).toThrow('task failed');
    clock.advance(100);
    expect(runs).toBe(3);
    expect(clock.pending).toBe(1);
    sweep.stop();
    expect(clock.pending).toBe(0);
  });

  it('system clock timers are unref-ed so a library never holds a process open', () => {
    const handle = systemClock.setTimeout(() => {}, 60_000) as { hasRef(): boolean };
    expect(handle.hasRef()).toBe(false);
    systemClock.clearTimeout(handle);
  });
});

describe('backoff', () => {
  const options = { minDelayMs: 500, maxDelayMs: 30_000, factor: 2 };

  it('doubles the ceiling up to the maximum', () => {
    expect([0, 1, 2, 5, 6, 50, 5000].map((a) => backoffCeiling(a, options))).toEqual([
      500, 1000, 2000, 16_000, 30_000, 30_000, 30_000,
    ]);
  });

  it('full jitter spans [min, ceiling]; hints spread over [hint, hint + spread]', () => {
    expect(fullJitterDelay(3, options, () => 0)).toBe(500);
    expect(fullJitterDelay(3, options, () => 1)).toBe(4000);
    expect(fullJitterDelay(3, options, () => 0.5)).toBe(2250);
    expect(hintedDelay(1000, 4000, () => 0)).toBe(1000);
    expect(hintedDelay(1000, 4000, () => 1)).toBe(5000);
    expect(hintedDelay(1000, -5, () => 1)).toBe(1000);
  });
});

describe('disposers and listeners', () => {
  it('a bag runs every disposer once, newest first, even when one throws', () => {
    const bag = new DisposerBag();
    const order: number[] = [];
    bag.add(() => order.push(1));
    bag.add(() => {
      throw new Error('boom');
    });
    bag.add(() => order.push(3));
    expect(() => bag.dispose()).toThrow('boom');
    expect(order).toEqual([3, 1]);
    expect(bag.size).toBe(0);
    bag.dispose();
    expect(order).toEqual([3, 1]);
  });

  it('listen works on Node emitters, DOM targets, and prefers Node style when both exist', () => {
    const emitter = new EventEmitter();
    const got: unknown[] = [];
    const off = listen(emitter, 'x', (a: number, b: number) => got.push(a + b));
    emitter.emit('x', 1, 2);
    off();
    emitter.emit('x', 1, 2);
    expect(got).toEqual([3]);

    const target = new EventTarget();
    const offDom = listen(target, 'y', (ev: Event) => got.push(ev.type));
    target.dispatchEvent(new Event('y'));
    offDom();
    target.dispatchEvent(new Event('y'));
    expect(got).toEqual([3, 'y']);

    // Like ws's WebSocket: both APIs; the listener must get the Node-style arguments.
    const both = Object.assign(new EventEmitter(), {
      addEventListener: () => {
        throw new Error('DOM style used');
      },
      removeEventListener: () => {},
    });
    const offBoth = listen(both, 'z', (code: number) => got.push(code));
    both.emit('z', 1006);
    offBoth();
    expect(got).toEqual([3, 'y', 1006]);
    expect(both.listenerCount('z')).toBe(0);
  });

  it('Emitter: once, off, and a throwing listener does not stop the others', () => {
    const errors: unknown[] = [];
    const emitter = new Emitter<{ tick: number }>((err) => errors.push(err));
    const seen: number[] = [];
    emitter.on('tick', () => {
      throw new Error('listener failed');
    });
    emitter.once('tick', (n) => seen.push(n * 10));
    const off = emitter.on('tick', (n) => seen.push(n));
    emitter.emit('tick', 1);
    off();
    emitter.emit('tick', 2);
    expect(seen).toEqual([10, 1]);
    expect(errors).toHaveLength(2);
    expect(emitter.listenerCount('tick')).toBe(1);
  });
});

describe('durations and options', () => {
  it('parses and formats durations, naming the option on bad input', () => {
    expect(['500ms', '25s', '2m', '1h', '1.5s', ' 7 ', 0].map((v) => parseDuration(v))).toEqual([
      500, 25_000, 120_000, 3_600_000, 1500, 7, 0,
    ]);
    expect(() => parseDuration('5 minutes', '--heartbeat-interval')).toThrow(
      /^--heartbeat-interval: cannot parse duration "5 minutes"/,
    );
    expect(() => parseDuration(-1, 'x')).toThrow(/^x: expected a non-negative duration/);
    expect([850, 2500, 25_000, 125_000, 120_000].map(formatDuration)).toEqual([
      '850ms',
      '2.5s',
      '25s',
      '2m 5s',
      '2m',
    ]);
  });

  it('option checks throw an OptionError naming the option', () => {
    expect(checkInt('retries', 3, 0)).toBe(3);
    for (const bad of [-1, 1.5, Number.NaN, '3' as unknown as number]) {
      expect(() => checkInt('retries', bad, 0)).toThrow(OptionError);
    }
    try {
      checkKnownKeys('client', { retires: 1 }, ['retries']);
      expect.unreachable();
    } catch (err) {
      expect((err as OptionError).option).toBe('client.retires');
      expect((err as OptionError).message).toContain('known: retries');
    }
    expect(isClock(systemClock)).toBe(true);
    expect(isClock(new ManualClock())).toBe(true);
    expect(isClock({ now: () => 1, setTimeout: () => 1 })).toBe(false);
  });
});
