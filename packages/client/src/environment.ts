import type { Disposer } from '@tether/common';

/** Events the client follows in its environment. */
export type EnvironmentEvent = 'online' | 'offline' | 'visibilitychange';

/**
 * What the client needs to know about where it runs: network and page
 * visibility. In browsers the default reads `navigator.onLine` and
 * `document.visibilityState`; in Node it is always online and visible.
 * Tests (and apps with their own network signals) inject their own.
 */
export interface ClientEnvironment {
  /** False while the device is offline: no attempts are made then. */
  readonly onLine: boolean;
  /** False while the page is hidden (background tab). */
  readonly visible: boolean;
  addEventListener(type: EnvironmentEvent, listener: () => void): void;
  removeEventListener(type: EnvironmentEvent, listener: () => void): void;
}

interface DomLikeTarget {
  addEventListener(type: string, listener: () => void): void;
  removeEventListener(type: string, listener: () => void): void;
}

interface BrowserGlobals {
  navigator?: { onLine?: boolean };
  document?: DomLikeTarget & { visibilityState?: string };
  addEventListener?: DomLikeTarget['addEventListener'];
  removeEventListener?: DomLikeTarget['removeEventListener'];
}

/** Always online and visible; events never fire. */
export const staticEnvironment: ClientEnvironment = {
  onLine: true,
  visible: true,
  addEventListener() {},
  removeEventListener() {},
};

/**
 * The browser's environment when there is one (`window` events `online` and
 * `offline`, `document` event `visibilitychange`), else {@link staticEnvironment}.
 */
export function defaultEnvironment(): ClientEnvironment {
  const g = globalThis as unknown as BrowserGlobals;
  const doc = g.document;
  if (
    !doc ||
    typeof g.addEventListener !== 'function' ||
    typeof g.removeEventListener !== 'function'
  ) {
    return staticEnvironment;
  }
  const win = g as Required<Pick<BrowserGlobals, 'addEventListener' | 'removeEventListener'>>;
  const targetOf = (type: EnvironmentEvent): DomLikeTarget =>
    type === 'visibilitychange' ? doc : win;
  return {
    get onLine() {
      return g.navigator?.onLine !== false;
    },
    get visible() {
      return doc.visibilityState !== 'hidden';
    },
    addEventListener(type, listener) {
      targetOf(type).addEventListener(type, listener);
    },
    removeEventListener(type, listener) {
      targetOf(type).removeEventListener(type, listener);
    },
  };
}

/** What the client does on each signal. */
export interface EnvironmentHandlers {
  online(): void;
  offline(): void;
  /** The page became visible (not called when it becomes hidden). */
  visible(): void;
}

/** Follows `env`'s signals; the disposer removes every listener. */
export function watchEnvironment(env: ClientEnvironment, handlers: EnvironmentHandlers): Disposer {
  const onVisibility = (): void => {
    if (env.visible) handlers.visible();
  };
  const listeners: Array<[EnvironmentEvent, () => void]> = [
    ['online', handlers.online],
    ['offline', handlers.offline],
    ['visibilitychange', onVisibility],
  ];
  for (const [type, fn] of listeners) env.addEventListener(type, fn);
  return () => {
    for (const [type, fn] of listeners) env.removeEventListener(type, fn);
  };
}
