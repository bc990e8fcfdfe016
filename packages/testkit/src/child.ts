import type { ChildProcess } from 'node:child_process';

/** How long a child gets to exit after SIGTERM before SIGKILL. */
const STOP_GRACE_MS = 5000;

/** Children still running, killed synchronously if the test process exits without stop(). */
const running = new Set<ChildProcess>();
let exitHookInstalled = false;

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

/** Kills `child` with SIGKILL if the test process exits while it still runs. */
export function trackUntilExit(child: ChildProcess): void {
  running.add(child);
  child.once('exit', () => running.delete(child));
  child.once('error', () => running.delete(child));
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const leftover of running) leftover.kill('SIGKILL');
    });
  }
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
