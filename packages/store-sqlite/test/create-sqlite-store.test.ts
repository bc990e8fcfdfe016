/** `createSqliteStore(spec)`: a SQLite store from `'sqlite:PATH'` or `{ kind: 'sqlite', ... }`. */
import { join } from 'node:path';
import { OptionError } from '@tether/common';
import type { Store } from '@tether/server';
import { type TempDir, tempDir } from '@tether/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createSqliteStore, SqliteStore, type SqliteStoreSpec } from '../src/index.js';

let tmp: TempDir | undefined;
let dir = '';
const open: Store[] = [];

beforeAll(async () => {
  tmp = await tempDir('tether-store-create-');
  dir = tmp.path;
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});
afterAll(async () => {
  await tmp?.cleanup();
});

function make(...args: Parameters<typeof createSqliteStore>): SqliteStore {
  const store = createSqliteStore(...args);
  open.push(store);
  return store;
}

function optionError(fn: () => unknown): OptionError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(OptionError);
    return err as OptionError;
  }
  throw new Error('expected an OptionError');
}

describe('createSqliteStore', () => {
  it('builds a SQLite store from "sqlite:PATH", creating the directory', async () => {
    const path = join(dir, 'nested', 'dir', 'tether.db');
    const store = make(`sqlite:${path}`);
    expect(store).toBeInstanceOf(SqliteStore);
    expect(store.path).toBe(path);
    expect((await store.appendPublication('t', '1', 1)).offset).toBe(1);
  });

  it('applies defaults, and object fields over them', async () => {
    const store = make(
      { kind: 'sqlite', path: join(dir, 'o.db'), historyMaxCount: 2, sweepIntervalMs: 0 },
      { historyMaxCount: 50 },
    );
    for (let i = 0; i < 5; i++) await store.appendPublication('t', String(i), 1);
    expect((await store.lastPublications('t', 10)).publications).toHaveLength(2);
  });

  it('names the store option for a spec that is not a SQLite one or has no path', () => {
    expect(optionError(() => make('sqlite:')).message).toContain('needs a file path');
    for (const spec of ['memory', 'redis://x', { kind: 'memory' }, null]) {
      const err = optionError(() => make(spec as unknown as SqliteStoreSpec));
      expect(err.option).toBe('store');
      expect(err.message).toContain('sqlite:PATH');
    }
  });
});
