/**
 * `createSqliteStore(spec)`: the SQLite half of what the server's `store` option once
 * accepted as a string (`'sqlite:PATH'`) or an object (`{ kind: 'sqlite', path }`), for
 * configuration files and command lines that name the store in text.
 */
import { OptionError } from '@tether/common';
import type { StoreOptions } from '@tether/server/store';
import { SqliteStore, type SqliteStoreOptions } from './sqlite-store.js';

/** `'sqlite:PATH'` (e.g. `'sqlite:./data/tether.db'`) or `{ kind: 'sqlite', path, ...options }`. */
export type SqliteStoreSpec = `sqlite:${string}` | ({ kind: 'sqlite' } & SqliteStoreOptions);

/**
 * Builds a {@link SqliteStore} from `spec`; `defaults` (retention bounds, clock) apply
 * unless the spec's own fields override them. Throws an `OptionError` naming `store`
 * for a spec that is not a SQLite one or has no path.
 */
export function createSqliteStore(spec: SqliteStoreSpec, defaults: StoreOptions = {}): SqliteStore {
  if (typeof spec === 'string') {
    if (!spec.startsWith('sqlite:')) {
      throw new OptionError(
        'store',
        `not a SQLite store ${JSON.stringify(spec)}: use 'sqlite:PATH'`,
      );
    }
    const path = spec.slice('sqlite:'.length);
    if (path.length === 0) {
      throw new OptionError('store', `'sqlite:' needs a file path, e.g. 'sqlite:./data/tether.db'`);
    }
    return new SqliteStore({ ...defaults, path });
  }
  if (typeof spec === 'object' && spec !== null && spec.kind === 'sqlite') {
    const { kind: _kind, ...options } = spec;
    return new SqliteStore({ ...defaults, ...options });
  }
  throw new OptionError(
    'store',
    `not a SQLite store: use 'sqlite:PATH' or { kind: 'sqlite', path }`,
  );
}
