/**
 * A Tether server in a child process, so a test can SIGTERM or SIGKILL it for real and
 * start it again on the same port. The entry (server-entry.ts, TypeScript importing the
 * @tether sources) is bundled once by testkit's `bundleSources`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { bundleSources, type SourceBundle, withTimeout } from '@tether/testkit';
import type { EntryConfig } from './server-entry.js';

const ENTRY = fileURLToPath(new URL('./server-entry.ts', import.meta.url));
const READY = 'AUDIT_READY';
const STDERR_KEEP = 64 * 1024;

/** The bundled entry and the way to remove it. */
export type BundledServer = SourceBundle;

/**
 * Bundles server-entry.ts (and the @tether sources it imports) into a temporary `.mjs`.
 * Call `cleanup()` when done.
 */
export function bundleServer(): Promise<BundledServer> {
  return bundleSources({
    entry: ENTRY,
    packages: ['common', 'protocol', 'server', 'store-sqlite'],
    prefix: 'tether-audit-',
    name: 'server.mjs',
    sourcemap: true,
  });
}

/** How a child ended. */
export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** One running child server. */
export class ServerProcess {
  /** Resolves when the process exits (never rejects). */
  readonly exited: Promise<ProcessExit>;
  private stderrText = '';
  private exit: ProcessExit | undefined;

  private constructor(private readonly child: ChildProcess) {
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exit = { code, signal };
        resolve(this.exit);
      });
    });
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      this.stderrText = (this.stderrText + chunk).slice(-STDERR_KEEP);
    });
  }

  /** Starts `bundle` with `config` and resolves once it listens (rejects with its stderr if it dies first). */
  static async start(
    bundle: BundledServer,
    config: EntryConfig,
    timeoutMs = 15_000,
  ): Promise<ServerProcess> {
    const child = spawn(process.execPath, [bundle.file, JSON.stringify(config)], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_ENV: 'test' },
    });
    const server = new ServerProcess(child);
    const ready = new Promise<void>((resolve, reject) => {
      let out = '';
      child.stdout?.setEncoding('utf8');
      child.stdout?.on('data', (chunk: string) => {
        out += chunk;
        if (out.includes(READY)) resolve();
      });
      void server.exited.then((exit) =>
        reject(
          new Error(
            `audit server exited before listening (${exit.code ?? exit.signal}): ${server.stderr}`,
          ),
        ),
      );
    });
    try {
      await withTimeout(ready, timeoutMs, 'audit server start');
    } catch (err) {
      await server.kill();
      throw err;
    }
    return server;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.exit === undefined;
  }

  /** What the child wrote to stderr (the last 64 KiB): its warnings and errors. */
  get stderr(): string {
    return this.stderrText;
  }

  /** SIGTERM (graceful shutdown) and waits for the exit; SIGKILL if it takes too long. */
  async terminate(timeoutMs = 10_000): Promise<ProcessExit> {
    if (this.exit !== undefined) return this.exit;
    this.child.kill('SIGTERM');
    try {
      return await withTimeout(this.exited, timeoutMs, 'graceful shutdown of the audit server');
    } catch (err) {
      await this.kill();
      throw err;
    }
  }

  /** SIGKILL and waits for the exit. */
  async kill(): Promise<ProcessExit> {
    if (this.exit !== undefined) return this.exit;
    this.child.kill('SIGKILL');
    return withTimeout(this.exited, 10_000, 'SIGKILL of the audit server');
  }
}
