/** Helpers of the tests that build stores from specs and options. */
import { OptionError } from '@tether/common';
import type { Store } from '@tether/server';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { type TempDir, tempDir } from './temp.js';

/** The {@link OptionError} `fn` throws; fails the test if it throws nothing or another error. */
export function optionError(fn: () => unknown): OptionError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(OptionError);
    return err as OptionError;
  }
  throw new Error('expected an OptionError');
}

/** What {@link storeFiles} gives a test file. */
export interface StoreFiles {
  /** The file's temporary directory (set before the first test). */
  readonly dir: string;
  /** Closes `store` after the test; returns it. */
  track<S extends Store>(store: S): S;
}

/**
 * One temporary directory for the store files of a test file (removed after the last
 * test), and the stores each test opened, closed after it (call once, at the top).
 */
export function storeFiles(prefix: string): StoreFiles {
  let tmp: TempDir | undefined;
  const open: Store[] = [];
  beforeAll(async () => {
    tmp = await tempDir(prefix);
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((s) => s.close()));
  });
  afterAll(async () => {
    await tmp?.cleanup();
  });
  return {
    get dir() {
      if (tmp === undefined) throw new Error('storeFiles: the directory exists from beforeAll on');
      return tmp.path;
    },
    track(store) {
      open.push(store);
      return store;
    },
  };
}
