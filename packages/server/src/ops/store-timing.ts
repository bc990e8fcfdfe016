import { performance } from 'node:perf_hooks';
import type { Store } from '../store/store.js';

/** Receives one timed store operation. */
export type StoreObserver = (operation: string, seconds: number, ok: boolean) => void;

/** Not timed: `close` runs once, at shutdown. */
const UNTIMED = new Set<PropertyKey>(['close']);

/**
 * Wraps a {@link Store} so every operation reports its latency and outcome to
 * `observe` (e.g. {@link TetherMetrics.observeStore}); the wrapped store behaves exactly
 * like the original. Give the wrapper to the server and keep the original for closing.
 *
 * @example
 * ```ts
 * const store = instrumentStore(createStore('sqlite:./data/tether.db'), (op, s, ok) =>
 *   metrics.observeStore(op, s, ok),
 * );
 * ```
 */
export function instrumentStore<S extends Store>(store: S, observe: StoreObserver): S {
  const wrapped = new Map<PropertyKey, unknown>();
  return new Proxy(store, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function' || UNTIMED.has(property)) return value;
      let fn = wrapped.get(property);
      if (fn === undefined) {
        const operation = String(property);
        const original = value as (...args: unknown[]) => unknown;
        fn = (...args: unknown[]): unknown => {
          const start = performance.now();
          const done = (ok: boolean): void => {
            observe(operation, (performance.now() - start) / 1000, ok);
          };
          let result: unknown;
          try {
            result = original.apply(target, args);
          } catch (err) {
            done(false);
            throw err;
          }
          if (result instanceof Promise) {
            return result.then(
              (v: unknown) => {
                done(true);
                return v;
              },
              (err: unknown) => {
                done(false);
                throw err;
              },
            );
          }
          done(true);
          return result;
        };
        wrapped.set(property, fn);
      }
      return fn;
    },
  });
}
