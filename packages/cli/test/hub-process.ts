/**
 * `tether serve` in a child process, built from source: the hub gets its own heap (so a
 * test can read its memory from `/metrics`) and a crash stays a crash. hub-entry.ts and
 * the @tether sources it imports are bundled by testkit's `bundleSources`; no dist/ is
 * needed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { bundleSources, withTimeout } from '@tether/testkit';

const ENTRY = fileURLToPath(new URL('./hub-entry.ts', import.meta.url));
const FROM_SOURCE = [
  'cli',
  'common',
  'protocol',
  'server',
  'dashboard',
  'hub',
  'store-sqlite',
  'store-redis',
];
const LISTENING = /tether listening on (http:\/\/\S+) \(ws: \/ws\)/;
const OUTPUT_KEEP = 64 * 1024;

/** A running hub child. */
export interface HubProcess {
  /** `http://127.0.0.1:PORT`. */
  readonly url: string;
  /** Whether it is still running. */
  readonly running: boolean;
  /** The last 64 KiB of what it printed, stdout and stderr together. */
  readonly output: string;
  readonly pid: number;
  /** Resolves with the exit code (null after a signal) once it exited. */
  readonly exited: Promise<number | null>;
  /** SIGKILLs it (if still running) and removes the bundle. */
  stop(): Promise<void>;
}

/** Bundles the hub and starts `tether serve ...args` with `env` added; resolves once it listens. */
export async function startHubProcess(
  args: readonly string[],
  env: Record<string, string>,
  options: { nodeArgs?: readonly string[]; timeoutMs?: number } = {},
): Promise<HubProcess> {
  const bundle = await bundleSources({
    entry: ENTRY,
    packages: FROM_SOURCE,
    prefix: 'tether-hub-',
    name: 'hub.mjs',
  });
  let child: ChildProcess | undefined;
  const cleanup = async () => {
    if (child !== undefined && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child?.once('exit', resolve));
      child.kill('SIGKILL');
      await withTimeout(exited, 5_000, 'hub child exit');
    }
    await bundle.cleanup();
  };
  try {
    const proc = spawn(
      process.execPath,
      [...(options.nodeArgs ?? []), bundle.file, 'serve', ...args],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, VITEST: '', NODE_ENV: '', ...env },
      },
    );
    child = proc;
    const exited = new Promise<number | null>((resolve) =>
      proc.once('exit', (code) => resolve(code)),
    );
    let output = '';
    const keep = (chunk: string) => {
      output = (output + chunk).slice(-OUTPUT_KEEP);
    };
    proc.stdout?.setEncoding('utf8');
    proc.stderr?.setEncoding('utf8');
    proc.stderr?.on('data', keep);
    const url = await withTimeout(
      new Promise<string>((resolve, reject) => {
        proc.stdout?.on('data', (chunk: string) => {
          keep(chunk);
          const match = LISTENING.exec(output);
          if (match?.[1]) resolve(match[1]);
        });
        proc.once('exit', (code, signal) =>
          reject(new Error(`hub exited before listening (${code ?? signal}): ${output}`)),
        );
      }),
      options.timeoutMs ?? 20_000,
      'hub listening',
    );
    return {
      url,
      get running() {
        return proc.exitCode === null && proc.signalCode === null;
      },
      get output() {
        return output;
      },
      pid: proc.pid ?? 0,
      exited,
      stop: cleanup,
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
