/**
 * The leak check of every test file: what a file opened, it closes. A socket, server,
 * timer, child process or `process` listener that outlives its test file is a leak of the
 * code under test (or of the test), and in a long-running server it is the slow growth the
 * soak measures. The check runs as a vitest setup file (`leak-check-setup.ts`, every tier):
 * it snapshots the process before the file and compares after the file's own `afterAll`.
 *
 * Resources come from `process.getActiveResourcesInfo()`: the handles and requests that keep
 * the event loop alive (`TCPSocketWrap`, `TCPServerWrap`, `Timeout`, `ProcessWrap`,
 * `PipeWrap`, `FSReqCallback`...). An `unref()`ed handle is not listed there, and a one-shot
 * timer ends by itself; but an unref'd `setInterval` never does: library sweeps are unref'd
 * by rule (STYLE.md), so a sweep its owner forgot to clear on close runs for the life of the
 * process unseen. {@link trackIntervals} counts those as `unref'd Interval`.
 */
import { waitFor } from './wait.js';

/** Counts of live resources by type, plus listener counts on `process` by event. */
export interface LeakSnapshot {
  readonly resources: ReadonlyMap<string, number>;
  readonly listeners: ReadonlyMap<string, number>;
}

/** One resource type or `process` event with more alive after a file than before it. */
export interface Leftover {
  readonly kind: 'resource' | 'listener';
  readonly type: string;
  readonly count: number;
}

/** A leftover that is allowed, by exact type and the reason it is not a leak. */
export interface AllowedLeftover {
  readonly kind: Leftover['kind'];
  readonly type: string;
  readonly reason: string;
}

/**
 * The only leftovers the check accepts. Each is understood: it is process-wide, created
 * once per process by the runtime or the test runner, and gone when the process exits.
 * Nothing is allowed "just in case": a new entry needs its reason.
 */
export const ALLOWED_LEFTOVERS: readonly AllowedLeftover[] = [];

/**
 * `process` events whose listeners the check counts. Each is one a server, a CLI or a
 * test helper might register for shutdown or error handling, and forget to remove.
 */
export const WATCHED_PROCESS_EVENTS = [
  'exit',
  'beforeExit',
  'SIGINT',
  'SIGTERM',
  'SIGHUP',
  'uncaughtException',
  'unhandledRejection',
  'warning',
  'message',
  'disconnect',
] as const;

/** How long a file's resources may take to close after its last hook: sockets need a tick or two. */
export const LEAK_GRACE_MS = 2000;

function countBy(values: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  return counts;
}

/** Type under which {@link trackIntervals} reports an unref'd interval still running. */
export const UNREFD_INTERVAL = "unref'd Interval";

const tracked = new Set<NodeJS.Timeout>();
let tracking = false;

/**
 * Wraps the global `setInterval` so that intervals started from now on are known; an
 * unref'd one that is still running (not cleared, not closed) counts in
 * {@link takeLeakSnapshot} as {@link UNREFD_INTERVAL}. Ref'd ones are already counted by
 * Node as `Timeout`. Idempotent; for the test process only.
 */
export function trackIntervals(): void {
  if (tracking) return;
  tracking = true;
  const original = globalThis.setInterval;
  const wrapped = ((...args: Parameters<typeof setInterval>) => {
    const timer = original(...args);
    tracked.add(timer);
    return timer;
  }) as typeof setInterval;
  globalThis.setInterval = Object.assign(wrapped, original);
}

function runningUnrefdIntervals(): string[] {
  const running: string[] = [];
  for (const timer of tracked) {
    // Node marks a cleared or closed timer `_destroyed`; there is no public getter.
    if ((timer as unknown as { _destroyed: boolean })._destroyed) tracked.delete(timer);
    else if (!timer.hasRef()) running.push(UNREFD_INTERVAL);
  }
  return running;
}

/** What is alive in this process right now. */
export function takeLeakSnapshot(): LeakSnapshot {
  const listeners = new Map<string, number>();
  for (const event of WATCHED_PROCESS_EVENTS) listeners.set(event, process.listenerCount(event));
  const resources = [...process.getActiveResourcesInfo(), ...runningUnrefdIntervals()];
  return { resources: countBy(resources), listeners };
}

function isAllowed(leftover: Leftover, allowed: readonly AllowedLeftover[]): boolean {
  return allowed.some((entry) => entry.kind === leftover.kind && entry.type === leftover.type);
}

/** What `after` holds beyond `before`, less the allowed leftovers; empty when nothing leaked. */
export function leftBehind(
  before: LeakSnapshot,
  after: LeakSnapshot,
  allowed: readonly AllowedLeftover[] = ALLOWED_LEFTOVERS,
): Leftover[] {
  const found: Leftover[] = [];
  const compare = (
    kind: Leftover['kind'],
    from: ReadonlyMap<string, number>,
    to: ReadonlyMap<string, number>,
  ) => {
    for (const [type, count] of to) {
      const extra = count - (from.get(type) ?? 0);
      if (extra > 0) found.push({ kind, type, count: extra });
    }
  };
  compare('resource', before.resources, after.resources);
  compare('listener', before.listeners, after.listeners);
  return found.filter((leftover) => !isAllowed(leftover, allowed));
}

/** `left behind: 2 TCPSocketWrap, 1 Timeout, 1 process 'SIGTERM' listener`. */
export function describeLeftovers(leftovers: readonly Leftover[]): string {
  const parts = leftovers.map((leftover) =>
    leftover.kind === 'resource'
      ? `${leftover.count} ${leftover.type}`
      : `${leftover.count} process '${leftover.type}' listener${leftover.count === 1 ? '' : 's'}`,
  );
  return `left behind: ${parts.join(', ')}`;
}

/** Rejection of {@link assertNoLeaks}: the file left something alive. */
export class LeakError extends Error {
  override readonly name = 'LeakError';
  readonly code = 'TESTKIT_LEAK';
  /** Running the file again leaks again: the code or the test must close what it opened. */
  readonly retryable = false;

  constructor(readonly leftovers: readonly Leftover[]) {
    super(
      `${describeLeftovers(leftovers)}. Close it in the test's afterEach/afterAll, or fix the ` +
        'code that opened it (run the file with `npx vitest run --detectAsyncLeaks <file>` ' +
        'to see where each was created).',
    );
  }
}

/**
 * Resolves when nothing beyond `before` is alive (waiting up to `graceMs` for closes in
 * flight); rejects with {@link LeakError} listing what remains.
 */
export async function assertNoLeaks(
  before: LeakSnapshot,
  options: { graceMs?: number; allowed?: readonly AllowedLeftover[] } = {},
): Promise<void> {
  const allowed = options.allowed ?? ALLOWED_LEFTOVERS;
  let leftovers = leftBehind(before, takeLeakSnapshot(), allowed);
  if (leftovers.length === 0) return;
  try {
    await waitFor(
      // waitFor evaluates the predicate between its pauses, when its own timer is not armed.
      () => {
        leftovers = leftBehind(before, takeLeakSnapshot(), allowed);
        return leftovers.length === 0;
      },
      { timeoutMs: options.graceMs ?? LEAK_GRACE_MS, message: 'resources still open' },
    );
  } catch {
    throw new LeakError(leftovers);
  }
}
