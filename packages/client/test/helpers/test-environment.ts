import type { ClientEnvironment, EnvironmentEvent } from '../../src/index.js';

/** A scripted network/visibility environment, as a browser would signal it. */
export class TestEnvironment implements ClientEnvironment {
  onLine = true;
  visible = true;
  private readonly listeners = new Map<EnvironmentEvent, Set<() => void>>();

  addEventListener(type: EnvironmentEvent, listener: () => void): void {
    let set = this.listeners.get(type);
    if (!set) {
      set = new Set();
      this.listeners.set(type, set);
    }
    set.add(listener);
  }

  removeEventListener(type: EnvironmentEvent, listener: () => void): void {
    this.listeners.get(type)?.delete(listener);
  }

  get listenerCount(): number {
    let n = 0;
    for (const set of this.listeners.values()) n += set.size;
    return n;
  }

  goOffline(): void {
    this.onLine = false;
    this.dispatch('offline');
  }

  goOnline(): void {
    this.onLine = true;
    this.dispatch('online');
  }

  hide(): void {
    this.visible = false;
    this.dispatch('visibilitychange');
  }

  show(): void {
    this.visible = true;
    this.dispatch('visibilitychange');
  }

  private dispatch(type: EnvironmentEvent): void {
    for (const listener of [...(this.listeners.get(type) ?? [])]) listener();
  }
}
