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

interface NodeStyleEmitter {
  on(event: string, fn: (...args: never[]) => void): unknown;
  off(event: string, fn: (...args: never[]) => void): unknown;
}

interface DomStyleTarget {
  addEventListener(event: string, fn: (ev: never) => void): void;
  removeEventListener(event: string, fn: (ev: never) => void): void;
}

/** Adds a listener to a Node emitter or a DOM event target; returns its disposer. */
export function listen<F extends (...args: never[]) => void>(
  target: NodeStyleEmitter | DomStyleTarget,
  event: string,
  fn: F,
): Disposer {
  if ('addEventListener' in target) {
    target.addEventListener(event, fn as unknown as (ev: never) => void);
    return () => target.removeEventListener(event, fn as unknown as (ev: never) => void);
  }
  target.on(event, fn);
  return () => {
    target.off(event, fn);
  };
}
