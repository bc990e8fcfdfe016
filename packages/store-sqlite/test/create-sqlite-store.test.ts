/** `createSqliteStore(spec)`: a SQLite store from `'sqlite:PATH'` or `{ kind: 'sqlite', ... }`. */
import { join } from 'node:path';
import { optionError, storeFiles } from '@tether/testkit';
import { describe, expect, it } from 'vitest';
import { createSqliteStore, SqliteStore, type SqliteStoreSpec } from '../src/index.js';

const files = storeFiles('tether-store-create-');

function make(...args: Parameters<typeof createSqliteStore>): SqliteStore {
  return files.track(createSqliteStore(...args));
}

describe('createSqliteStore', () => {
  it('builds a SQLite store from "sqlite:PATH", creating the directory', async () => {
    const path = join(files.dir, 'nested', 'dir', 'tether.db');
    const store = make(`sqlite:${path}`);
    expect(store).toBeInstanceOf(SqliteStore);
    expect(store.path).toBe(path);
    expect((await store.appendPublication('t', '1', 1)).offset).toBe(1);
  });

  it('applies defaults, and object fields over them', async () => {
    const store = make(
      { kind: 'sqlite', path: join(files.dir, 'o.db'), historyMaxCount: 2, sweepIntervalMs: 0 },
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
