/**
 * `createStore(spec)`: the one place that turns the `store` option of the
 * server and the hub into a {@link Store}.
 */
import { OptionError } from '@tether/common';
import { MemoryStore, type MemoryStoreOptions } from './memory-store.js';
import { SqliteStore, type SqliteStoreOptions } from './sqlite-store.js';
import type { Store } from './store.js';
import type { StoreOptions } from './store-options.js';

/**
 * What the `store` option accepts:
 * - `'memory'` (the default): state lives and dies with the process;
 * - `'sqlite:PATH'`, e.g. `'sqlite:./data/tether.db'`: a durable SQLite file;
 * - `{ kind: 'memory', ...options }` or `{ kind: 'sqlite', path, ...options }`;
 * - any object implementing {@link Store} (used as is; the caller owns it).
 */
export type StoreSpec =
  | 'memory'
  | `sqlite:${string}`
  | ({ kind: 'memory' } & MemoryStoreOptions)
  | ({ kind: 'sqlite' } & SqliteStoreOptions)
  | Store;

const USAGE = `use 'memory', 'sqlite:PATH', { kind: 'memory' | 'sqlite', ... } or a Store object`;

function isStore(value: object): value is Store {
  const v = value as Partial<Store>;
  return (
    typeof v.appendPublication === 'function' &&
    typeof v.appendSessionMessages === 'function' &&
    typeof v.getSession === 'function' &&
    typeof v.close === 'function'
  );
}

/**
 * Builds the store named by `spec`. `defaults` (retention bounds, clock) apply
 * to a store built here; fields of an object spec override them. Throws an
 * `OptionError` naming `store` for a spec it does not know.
 */
export function createStore(spec: StoreSpec = 'memory', defaults: StoreOptions = {}): Store {
  if (typeof spec === 'string') {
    if (spec === 'memory') return new MemoryStore(defaults);
    if (spec.startsWith('sqlite:')) {
      const path = spec.slice('sqlite:'.length);
      if (path.length === 0) {
        throw new OptionError(
          'store',
          `'sqlite:' needs a file path, e.g. 'sqlite:./data/tether.db'`,
        );
      }
      return new SqliteStore({ ...defaults, path });
    }
    throw new OptionError('store', `unknown store ${JSON.stringify(spec)}: ${USAGE}`);
  }
  if (typeof spec === 'object' && spec !== null) {
    if (isStore(spec)) return spec;
    if ('kind' in spec) {
      const { kind, ...options } = spec;
      if (kind === 'memory') return new MemoryStore({ ...defaults, ...options });
      if (kind === 'sqlite') {
        return new SqliteStore({ ...defaults, ...(options as Omit<SqliteStoreOptions, 'kind'>) });
      }
      throw new OptionError('store.kind', `unknown store kind ${JSON.stringify(kind)}: ${USAGE}`);
    }
  }
  throw new OptionError('store', `unknown store ${describe(spec)}: ${USAGE}`);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return 'object without kind';
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}
