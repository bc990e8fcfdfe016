/** Undoes one registration (a listener, a timer, a subscription). Idempotent. */
export type Disposer = () => void;

/**
 * Collects disposers and runs them all, newest first, exactly once each.
 * Teardown code calls `dispose()` and is done.
 */
export class DisposerBag {
  private items: Disposer[] = [];

  add(disposer: Disposer): Disposer {
    this.items.push(disposer);
    return disposer;
  }

  /** Runs every disposer; an error in one does not stop the others. */
  dispose(): void {
    const items = this.items.reverse();
    this.items = [];
    let firstError: unknown;
    for (const d of items) {
      try {
        d();
      } catch (err) {
        firstError ??= err;
      }
    }
    if (firstError !== undefined) throw firstError;
  }

  get size(): number {
    return this.items.length;
  }
}

/** A listener of any arguments: each target calls it with its own. */
// biome-ignore lint/suspicious/noExplicitAny: listener parameters are the target's to define.
type AnyListener = (...args: any[]) => void;

interface NodeStyleEmitter {
  on(event: string, fn: AnyListener): unknown;
  off(event: string, fn: AnyListener): unknown;
}

interface DomStyleTarget {
  addEventListener(event: string, fn: AnyListener): void;
  removeEventListener(event: string, fn: AnyListener): void;
}

/**
 * Adds a listener to a Node emitter or a DOM event target; returns its disposer.
 * A target with both (the `ws` WebSocket) is treated as a Node emitter, so the listener
 * gets the event's arguments, not a DOM-style event object.
 */
export function listen<F extends AnyListener>(
  target: NodeStyleEmitter | DomStyleTarget,
  event: string,
  fn: F,
): Disposer {
  if ('on' in target && typeof target.on === 'function') {
    const emitter = target as NodeStyleEmitter;
    emitter.on(event, fn);
    return () => {
      emitter.off(event, fn);
    };
  }
  const dom = target as DomStyleTarget;
  dom.addEventListener(event, fn);
  return () => dom.removeEventListener(event, fn);
}
