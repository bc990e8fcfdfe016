import type { Disposer } from '@tether/common';
import type { ConnectionState } from './states.js';

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

/** What the lifecycle offers the environment's signals. */
export interface EnvironmentTarget {
  state(): ConnectionState;
  attempt(reason: 'online' | 'visible'): void;
  /** Checks the link within the heartbeat timeout. */
  checkLink(): void;
  /** Whether a scheduled attempt is overdue (timers were throttled). */
  overdue(): boolean;
}

/** What the client does on each signal, given its state. */
export function environmentHandlers(target: EnvironmentTarget): EnvironmentHandlers {
  return {
    online: () => {
      if (target.state() === 'reconnecting') target.attempt('online');
      else if (target.state() === 'open') target.checkLink();
    },
    // The link may or may not have survived: find out within the heartbeat timeout.
    offline: () => {
      if (target.state() === 'open') target.checkLink();
    },
    // A hidden tab's timers were throttled: check the link, or make the overdue attempt, now.
    visible: () => {
      if (target.state() === 'open') target.checkLink();
      else if (target.overdue()) target.attempt('visible');
    },
  };
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
