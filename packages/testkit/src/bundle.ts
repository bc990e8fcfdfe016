/**
 * A test entry (TypeScript importing the @tether sources) bundled with esbuild into a
 * temporary `.mjs`, for a child process a test can SIGTERM or SIGKILL for real. The
 * @tether packages named come from source (never a stale dist/); every other bare import
 * (ws, pino, better-sqlite3, ...) stays external and is resolved from the repository's
 * node_modules through a symlink next to the bundle.
 */
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** Subpath exports, by the source file they point at. */
const SUBPATHS: Readonly<Record<string, string>> = {
  '@tether/server/ops': 'server/src/ops/index.ts',
  '@tether/server/store': 'server/src/store-kit.ts',
};

/** Options of {@link bundleSources}. */
export interface BundleSourcesOptions {
  /** Absolute path of the entry file. */
  entry: string;
  /** The @tether packages bundled from `packages/NAME/src/index.ts`. */
  packages: readonly string[];
  /** Prefix of the temporary directory's name. */
  prefix: string;
  /** File name of the bundle. Default `bundle.mjs`. */
  name?: string;
  /** Inline a source map (stack traces point at the sources). Default false. */
  sourcemap?: boolean;
}

/** A bundle on disk and the way to remove it. */
export interface SourceBundle {
  /** Absolute path of the `.mjs` to run with `node`. */
  readonly file: string;
  /** Removes the bundle's directory. */
  cleanup(): Promise<void>;
}

/** Bundles `entry` into a temporary directory; call `cleanup()` when done. */
export async function bundleSources(options: BundleSourcesOptions): Promise<SourceBundle> {
  const { build } = await import('esbuild');
  const dir = await mkdtemp(join(tmpdir(), options.prefix));
  const file = join(dir, options.name ?? 'bundle.mjs');
  const cleanup = () => rm(dir, { recursive: true, force: true, maxRetries: 3 });
  try {
    // ESM resolves bare imports from the importing file's directory upwards, so the
    // externals must be reachable from the temp dir.
    await symlink(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
    await build({
      entryPoints: [options.entry],
      outfile: file,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      ...(options.sourcemap === true ? { sourcemap: 'inline' as const } : {}),
      logLevel: 'error',
      plugins: [
        {
          name: 'tether-sources',
          setup(b) {
            b.onResolve({ filter: /^[^./]/ }, (args) => {
              const subpath = SUBPATHS[args.path];
              if (subpath !== undefined) return { path: join(ROOT, 'packages', subpath) };
              const name = /^@tether\/([a-z-]+)$/.exec(args.path)?.[1];
              if (name !== undefined && options.packages.includes(name)) {
                return { path: join(ROOT, 'packages', name, 'src', 'index.ts') };
              }
              return { path: args.path, external: true };
            });
          },
        },
      ],
    });
  } catch (err) {
    await cleanup();
    throw err;
  }
  return { file, cleanup };
}
