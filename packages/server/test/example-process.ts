/**
 * Runs an example of examples/ as its README says (`node examples/...` from the repository
 * root) and waits for the line that says it is ready.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { withTimeout } from '@tether/testkit';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** A running example process. */
export interface ExampleProcess {
  /** The match of the `ready` pattern in its output. */
  readonly ready: RegExpExecArray;
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
  /** SIGTERM, then SIGKILL after 5 s; resolves with the exit code (null: killed). */
  stop(): Promise<number | null>;
}

/** Starts `node <script> ...args`; resolves once its output matches `ready` (30 s deadline). */
export async function startExample(
  script: string,
  args: string[],
  ready: RegExp,
  env: NodeJS.ProcessEnv = {},
): Promise<ExampleProcess> {
  const child: ChildProcess = spawn(process.execPath, [script, ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const stop = async (): Promise<number | null> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const kill = setTimeout(() => child.kill('SIGKILL'), 5_000);
      kill.unref();
      const code = await exited;
      clearTimeout(kill);
      return code;
    }
    return exited;
  };
  const match = new Promise<RegExpExecArray>((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      output += chunk.toString('utf8');
      const found = ready.exec(output);
      if (found) resolve(found);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    void exited.then((code) => reject(new Error(`${script} exited with ${code}:\n${output}`)));
  });
  // After a timeout the exit (of stop()) rejects `match` once more: nobody awaits it then.
  match.catch(() => {});
  try {
    const found = await withTimeout(match, 30_000, `${script} prints ${ready}`);
    return { ready: found, output: () => output, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * Runs `node <script> ...args` to its end (a SIGKILL past `timeoutMs`); resolves with its
 * exit code and everything it printed (stdout and stderr).
 */
export async function runExample(
  script: string,
  args: string[],
  timeoutMs: number,
): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [script, ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: string): void => {
    output += chunk;
  };
  child.stdout.setEncoding('utf8').on('data', keep);
  child.stderr.setEncoding('utf8').on('data', keep);
  const code = await withTimeout(
    new Promise<number | null>((resolve) => child.once('exit', resolve)),
    timeoutMs,
    'the example exits',
  ).catch((err: unknown) => {
    child.kill('SIGKILL');
    throw err;
  });
  return { code, output };
}
