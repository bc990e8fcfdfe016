/**
 * A Tether server in a child process, so a test can SIGTERM or SIGKILL it for real and
 * start it again on the same port. The entry (server-entry.ts, TypeScript importing the
 * @tether sources) is bundled once with esbuild's JS API into a temporary `.mjs`; every
 * bare import other than `@tether/*` (ws, pino, better-sqlite3, ...) stays external and
 * is resolved from the repository's node_modules through a symlink next to the bundle.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { withTimeout } from '@tether/testkit';
import type { EntryConfig } from './server-entry.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const ENTRY = fileURLToPath(new URL('./server-entry.ts', import.meta.url));
const PACKAGES = ['common', 'protocol', 'server', 'store-sqlite'] as const;
/** Subpath exports, by the source file they point at. */
const SUBPATHS: Readonly<Record<string, string>> = {
  '@tether/server/ops': 'server/src/ops/index.ts',
  '@tether/server/store': 'server/src/store-kit.ts',
};
const READY = 'AUDIT_READY';
const STDERR_KEEP = 64 * 1024;

/** The bundled entry and the way to remove it. */
export interface BundledServer {
  /** Absolute path of the `.mjs` to run with `node`. */
  readonly file: string;
  cleanup(): Promise<void>;
}

/**
 * Bundles server-entry.ts (and the @tether sources it imports) into a temporary `.mjs`.
 * Call `cleanup()` when done.
 */
export async function bundleServer(): Promise<BundledServer> {
  const { build } = await import('esbuild');
  const dir = await mkdtemp(join(tmpdir(), 'tether-audit-'));
  const file = join(dir, 'server.mjs');
  try {
    // ESM resolves bare imports from the importing file's directory upwards, so the
    // externals must be reachable from the temp dir.
    await symlink(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
    await build({
      entryPoints: [ENTRY],
      outfile: file,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      sourcemap: 'inline',
      logLevel: 'error',
      plugins: [
        {
          name: 'tether-sources',
          setup(b) {
            // @tether/* from source (never a stale dist/); every other package external.
            b.onResolve({ filter: /^[^./]/ }, (args) => {
              const subpath = SUBPATHS[args.path];
              if (subpath !== undefined) return { path: join(ROOT, 'packages', subpath) };
              const match = /^@tether\/([a-z-]+)$/.exec(args.path);
              const name = match?.[1];
              if (name !== undefined && (PACKAGES as readonly string[]).includes(name)) {
                return { path: join(ROOT, 'packages', name, 'src', 'index.ts') };
              }
              return { path: args.path, external: true };
            });
          },
        },
      ],
    });
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return { file, cleanup: () => rm(dir, { recursive: true, force: true, maxRetries: 3 }) };
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
