import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A directory created for one test, and the way to remove it. */
export interface TempDir {
  /** Absolute path of the new, empty directory. */
  readonly path: string;
  /** Removes the directory and everything in it; safe to call more than once. */
  cleanup(): Promise<void>;
}

/**
 * Creates a fresh, uniquely named directory under the OS temp dir (`$TMPDIR` or `/tmp`),
 * e.g. for a SQLite file or a browser profile. Call `cleanup()` in `afterEach`/`afterAll`.
 *
 * @param prefix - start of the directory name; default `tether-`.
 */
export async function tempDir(prefix = 'tether-'): Promise<TempDir> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return {
    path,
    cleanup: () => rm(path, { recursive: true, force: true, maxRetries: 3 }),
  };
}
