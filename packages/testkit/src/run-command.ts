/**
 * A command run to its end with its output collected: for tests that drive a real npm,
 * node or vitest. Past the deadline it is killed and the wait fails.
 */
import { spawn } from 'node:child_process';
import { withTimeout } from './wait.js';

/** Options of {@link runCommand}. */
export interface RunCommandOptions {
  cwd: string;
  /** Deadline for the exit (the command is killed with SIGKILL past it). */
  timeoutMs: number;
  /** Its environment; default this process's. */
  env?: NodeJS.ProcessEnv;
  /** What the failed wait is called. Default: the command line. */
  label?: string;
}

/** Runs `command args`; resolves with its exit status and its stdout and stderr, interleaved. */
export async function runCommand(
  command: string,
  args: readonly string[],
  options: RunCommandOptions,
): Promise<{ status: number | null; output: string }> {
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer): void => {
    output += chunk.toString();
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  try {
    const status = await withTimeout(
      new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code))),
      options.timeoutMs,
      options.label ?? `${command} ${args.join(' ')}`,
    ).catch((err: unknown) => {
      // What it printed says where it hung.
      throw new Error(`${(err as Error).message}\n--- output ---\n${output.slice(-4000)}`);
    });
    return { status, output };
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}
