/**
 * `createStore(spec)`: the one place that turns the `store` option of the
 * server into a {@link Store}. The server builds only the memory store itself;
 * a durable store lives in its own package (`@tether/store-sqlite`) and is
 * passed in as an object, so a memory-store user installs no native addon.
 */
import { OptionError } from '@tether/common';
import { MemoryStore, type MemoryStoreOptions } from './memory-store.js';
import type { Store } from './store.js';
import type { StoreOptions } from './store-options.js';

/**
 * What the `store` option accepts:
 * - `'memory'` (the default): state lives and dies with the process;
 * - `{ kind: 'memory', ...options }`: the same with retention options;
 * - any object implementing {@link Store}, e.g. `new SqliteStore({ path })` from
 *   `@tether/store-sqlite` (used as is; the caller owns it and closes it).
 */
export type StoreSpec = 'memory' | ({ kind: 'memory' } & MemoryStoreOptions) | Store;

const USAGE = `use 'memory', { kind: 'memory', ... } or a Store object (e.g. new SqliteStore({ path }) from @tether/store-sqlite)`;

/** Whether `value` has the methods of a {@link Store}. */
export function isStore(value: unknown): value is Store {
  const v = value as Partial<Store> | null;
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof v.appendPublication === 'function' &&
    typeof v.appendSessionMessages === 'function' &&
    typeof v.getSession === 'function' &&
    typeof v.close === 'function'
  );
}

/**
 * Builds the store named by `spec`. `defaults` (retention bounds, clock) apply
 * to a store built here; fields of an object spec override them. Throws an
 * `OptionError` naming `store` for a spec it does not know; a SQLite spec
 * (`'sqlite:PATH'`, `{ kind: 'sqlite' }`) names the package that builds it.
 */
export function createStore(spec: StoreSpec = 'memory', defaults: StoreOptions = {}): Store {
  if (typeof spec === 'string') {
    if (spec === 'memory') return new MemoryStore(defaults);
    throw new OptionError('store', `unknown store ${JSON.stringify(spec)}: ${hint(spec)}${USAGE}`);
  }
  if (typeof spec === 'object' && spec !== null) {
    if (isStore(spec)) return spec;
    if ('kind' in spec) {
      const { kind, ...options } = spec as { kind: unknown };
      if (kind === 'memory') return new MemoryStore({ ...defaults, ...options });
      throw new OptionError(
        'store.kind',
        `unknown store kind ${JSON.stringify(kind)}: ${hint(kind)}${USAGE}`,
      );
    }
  }
  throw new OptionError('store', `unknown store ${describe(spec)}: ${USAGE}`);
}

/** Points a SQLite spec, which the server once built itself, at its own package. */
function hint(name: unknown): string {
  return typeof name === 'string' && name.startsWith('sqlite')
    ? 'the SQLite store is the @tether/store-sqlite package (createSqliteStore(spec)); '
    : '';
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return 'object without kind';
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}
