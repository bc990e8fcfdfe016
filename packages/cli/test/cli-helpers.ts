import { spawn } from 'node:child_process';
import { withTimeout } from '@tether/testkit';

// One capture for the hub's tests and the CLI's (the CLI builds on the hub).
export { type Captured, capture } from '../../hub/test/hub-helpers.js';

/**
 * Runs `node ...args` to its exit and returns the exit code and everything it printed on
 * stdout (and on stderr, with `stderr: 'capture'`). Past `timeoutMs` the wait rejects naming `what`, and the process is killed.
 */
export async function runNode(
  args: readonly string[],
  options: { timeoutMs: number; what: string; stderr: 'inherit' | 'ignore' | 'capture' },
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const stdio = options.stderr === 'capture' ? 'pipe' : options.stderr;
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', stdio] });
  try {
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const code = await withTimeout(
      new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c))),
      options.timeoutMs,
      options.what,
    );
    return { code, stdout, stderr };
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
}
