import type { Disposer } from './disposer.js';

/** Maps event names to the payload their listeners receive. */
export type EventMap = { [event: string]: unknown };

type Listener<T> = (payload: T) => void;

/**
 * A small typed event emitter that runs in browsers and Node alike.
 * `on()` returns a disposer. A throwing listener does not stop the others;
 * its error goes to `onListenerError` (default: rethrown asynchronously).
 */
export class Emitter<E extends EventMap> {
  private listeners = new Map<keyof E, Set<Listener<never>>>();

  constructor(private readonly onListenerError: (err: unknown) => void = rethrowAsync) {}

  on<K extends keyof E>(event: K, fn: Listener<E[K]>): Disposer {
    let set = this.listeners.get(event);
    if (!set) {
      set = new Set();
      this.listeners.set(event, set);
    }
    set.add(fn as Listener<never>);
    return () => this.off(event, fn);
  }

  once<K extends keyof E>(event: K, fn: Listener<E[K]>): Disposer {
    const dispose = this.on(event, (payload) => {
      dispose();
      fn(payload);
    });
    return dispose;
  }

  off<K extends keyof E>(event: K, fn: Listener<E[K]>): void {
    const set = this.listeners.get(event);
    if (!set) return;
    set.delete(fn as Listener<never>);
    if (set.size === 0) this.listeners.delete(event);
  }

  emit<K extends keyof E>(event: K, payload: E[K]): void {
    const set = this.listeners.get(event);
    if (!set) return;
    for (const fn of [...set]) {
      try {
        (fn as Listener<E[K]>)(payload);
      } catch (err) {
        this.onListenerError(err);
      }
    }
  }

  listenerCount<K extends keyof E>(event: K): number {
    return this.listeners.get(event)?.size ?? 0;
  }

  removeAllListeners(): void {
    this.listeners.clear();
  }
}

function rethrowAsync(err: unknown): void {
  queueMicrotask(() => {
    throw err;
  });
}
