import { spawn } from 'node:child_process';
import { withTimeout } from '@tether/testkit';

// One capture for the hub's tests and the CLI's (the CLI builds on the hub).
export { type Captured, capture } from '../../hub/test/hub-helpers.js';

/**
 * Runs `node ...args` to its exit and returns the exit code and everything it printed on
 * stdout. Past `timeoutMs` the wait rejects naming `what`, and the process is killed.
 */
export async function runNode(
  args: readonly string[],
  options: { timeoutMs: number; what: string; stderr: 'inherit' | 'ignore' },
): Promise<{ code: number | null; stdout: string }> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', options.stderr] });
  try {
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    const code = await withTimeout(
      new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c))),
      options.timeoutMs,
      options.what,
    );
    return { code, stdout };
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
}
