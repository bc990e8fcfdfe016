import type { ChildProcess } from 'node:child_process';

/** How long a child gets to exit after SIGTERM before SIGKILL. */
const STOP_GRACE_MS = 5000;

/** Children still running, killed synchronously if the test process exits without stop(). */
const running = new Set<ChildProcess>();

function killRunning(): void {
  for (const leftover of running) leftover.kill('SIGKILL');
}

/** SIGTERM, then SIGKILL after 5 s; resolves once `child` has exited. */
export function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const killTimer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    child.once('exit', () => {
      clearTimeout(killTimer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/**
 * Kills `child` with SIGKILL if the test process exits while it still runs. The `exit`
 * hook is there only while a tracked child runs: once the last one is gone, so is the
 * hook (the leak check counts `process` listeners a test file leaves behind).
 */
export function trackUntilExit(child: ChildProcess): void {
  if (running.size === 0) process.on('exit', killRunning);
  running.add(child);
  const untrack = (): void => {
    if (!running.delete(child)) return;
    if (running.size === 0) process.off('exit', killRunning);
  };
  child.once('exit', untrack);
  child.once('error', untrack);
}

/**
 * Keeps the last `keep` characters of `child`'s stdout and stderr (for error messages: a
 * server's own words on why it did not start); returns a reader of them.
 */
export function tailOutput(child: ChildProcess, keep = 4000): () => string {
  let output = '';
  const collect = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-keep);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  return () => output;
}
