/** `createStore(spec)`: the `store` option of the server (memory, or a Store object). */
import { join } from 'node:path';
import { optionError, storeFiles } from '@tether/testkit';
import { describe, expect, it } from 'vitest';
import {
  createStore,
  MemoryStore,
  STORE_DEFAULTS,
  type Store,
  type StoreSpec,
} from '../src/store/index.js';

const files = storeFiles('tether-store-create-');

function make(spec?: StoreSpec, defaults?: Parameters<typeof createStore>[1]): Store {
  return files.track(createStore(spec, { sweepIntervalMs: 0, ...defaults }));
}

describe('createStore', () => {
  it('builds the memory store by default and for "memory"', () => {
    expect(make()).toBeInstanceOf(MemoryStore);
    expect(make('memory').kind).toBe('memory');
    expect(make({ kind: 'memory', historyMaxCount: 3 }).kind).toBe('memory');
  });

  it('refuses a SQLite spec, naming the package that builds it (no native addon in the server)', () => {
    for (const spec of [`sqlite:${join(files.dir, 'x.db')}`, { kind: 'sqlite', path: 'x.db' }]) {
      const err = optionError(() => createStore(spec as unknown as StoreSpec));
      expect(err.option).toMatch(/^store/);
      expect(err.message).toContain('@tether/store-sqlite');
    }
  });

  it('applies defaults, and object fields over them', async () => {
    const store = make({ kind: 'memory', historyMaxCount: 2 }, { historyMaxCount: 50 });
    for (let i = 0; i < 5; i++) await store.appendPublication('t', String(i), 1);
    expect((await store.lastPublications('t', 10)).publications).toHaveLength(2);
    const fromString = make('memory', { historyMaxCount: 1 });
    await fromString.appendPublication('t', 'a', 1);
    await fromString.appendPublication('t', 'b', 1);
    expect((await fromString.lastPublications('t', 10)).publications).toHaveLength(1);
    expect(STORE_DEFAULTS.historyMaxCount).toBe(1000);
  });

  it('passes a Store object through unchanged', () => {
    const mine = new MemoryStore({ sweepIntervalMs: 0 });
    files.track(mine);
    expect(createStore(mine)).toBe(mine);
  });

  it('names the store option for specs it does not know', () => {
    for (const spec of ['redis://x', 'sqlite', 'Memory', '']) {
      const err = optionError(() => createStore(spec as StoreSpec));
      expect(err.option).toBe('store');
      expect(err.message).toMatch(/^store: unknown store/);
      expect(err.message).toContain('a Store object');
    }
    expect(optionError(() => createStore({ kind: 'redis' } as unknown as StoreSpec)).option).toBe(
      'store.kind',
    );
    expect(optionError(() => createStore(42 as unknown as StoreSpec)).option).toBe('store');
    expect(optionError(() => createStore({} as unknown as StoreSpec)).option).toBe('store');
    expect(
      optionError(() => createStore({ kind: 'memory', histroyMaxCount: 1 } as StoreSpec)).option,
    ).toBe('store.histroyMaxCount');
  });
});
