import { describe, expect, it } from 'vitest';
import {
  assertNoLeaks,
  describeLeftovers,
  LeakError,
  type LeakSnapshot,
  leftBehind,
  takeLeakSnapshot,
  trackIntervals,
  UNREFD_INTERVAL,
} from '../src/leak-check.js';

const snapshot = (
  resources: Record<string, number>,
  listeners: Record<string, number> = {},
): LeakSnapshot => ({
  resources: new Map(Object.entries(resources)),
  listeners: new Map(Object.entries(listeners)),
});

describe('leak check', () => {
  it('lists what is alive beyond the baseline, by type', () => {
    const before = snapshot({ Timeout: 1, PipeWrap: 2 }, { exit: 1 });
    const after = snapshot({ Timeout: 2, PipeWrap: 1, TCPSocketWrap: 2 }, { exit: 1, SIGTERM: 1 });
    const leftovers = leftBehind(before, after, []);
    expect(leftovers).toEqual([
      { kind: 'resource', type: 'Timeout', count: 1 },
      { kind: 'resource', type: 'TCPSocketWrap', count: 2 },
      { kind: 'listener', type: 'SIGTERM', count: 1 },
    ]);
    expect(describeLeftovers(leftovers)).toBe(
      "left behind: 1 Timeout, 2 TCPSocketWrap, 1 process 'SIGTERM' listener",
    );
  });

  it('accepts only the allowed leftovers named by exact kind and type', () => {
    const before = snapshot({});
    const after = snapshot({ Timeout: 1, TCPSocketWrap: 1 }, { exit: 1 });
    const allowed = [{ kind: 'resource' as const, type: 'Timeout', reason: 'test' }];
    expect(leftBehind(before, after, allowed)).toEqual([
      { kind: 'resource', type: 'TCPSocketWrap', count: 1 },
      { kind: 'listener', type: 'exit', count: 1 },
    ]);
  });

  it("sees a ref'd timer and a process listener opened since the snapshot", () => {
    // Both snapshots in one synchronous block: no timer of the runner starts or ends between them.
    const before = takeLeakSnapshot();
    const timer = setTimeout(() => {}, 60_000);
    const onSigterm = (): void => {};
    process.on('SIGTERM', onSigterm);
    const after = takeLeakSnapshot();
    clearTimeout(timer);
    process.off('SIGTERM', onSigterm);
    expect(leftBehind(before, after)).toEqual([
      { kind: 'resource', type: 'Timeout', count: 1 },
      { kind: 'listener', type: 'SIGTERM', count: 1 },
    ]);
  });

  it("does not count an unref'd one-shot timer: it ends by itself", () => {
    const before = takeLeakSnapshot();
    const timer = setTimeout(() => {}, 60_000).unref();
    const after = takeLeakSnapshot();
    clearTimeout(timer);
    expect(leftBehind(before, after)).toEqual([]);
  });

  it("counts an unref'd interval still running: a sweep nobody cleared runs forever", () => {
    trackIntervals();
    const before = takeLeakSnapshot();
    const sweep = setInterval(() => {}, 60_000).unref();
    const closed = setInterval(() => {}, 60_000).unref();
    closed.close();
    const after = takeLeakSnapshot();
    clearInterval(sweep);
    expect(leftBehind(before, after)).toEqual([
      { kind: 'resource', type: UNREFD_INTERVAL, count: 1 },
    ]);
    expect(leftBehind(before, takeLeakSnapshot())).toEqual([]);
  });

  it('fails with the list of what remains after the grace, and passes once it is gone', async () => {
    const before = takeLeakSnapshot();
    const onSigterm = (): void => {};
    process.on('SIGTERM', onSigterm);
    try {
      const error = await assertNoLeaks(before, { graceMs: 100 }).catch((err: unknown) => err);
      expect(error).toBeInstanceOf(LeakError);
      expect((error as LeakError).message).toContain("left behind: 1 process 'SIGTERM' listener");
    } finally {
      process.off('SIGTERM', onSigterm);
    }
    await assertNoLeaks(before, { graceMs: 100 });
  });

  it('waits for what closes within the grace', async () => {
    const before = takeLeakSnapshot();
    const onExit = (): void => {};
    process.on('exit', onExit);
    setTimeout(() => process.off('exit', onExit), 50);
    await assertNoLeaks(before, { graceMs: 5000 });
    expect(process.listenerCount('exit')).toBe(before.listeners.get('exit'));
  });
});
