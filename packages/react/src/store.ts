import type { ClientStats, ConnectionState, HealthStatus, TetherClient } from '@tether/client';
import type { Disposer } from '@tether/common';

/** What {@link useTether} re-renders with: changes on connection events, not on messages. */
export interface TetherSnapshot {
  state: ConnectionState;
  health: HealthStatus;
  /** `client.stats()` as of the latest connection event (or `statsIntervalMs` tick). */
  stats: ClientStats | undefined;
}

const NO_CLIENT: TetherSnapshot = {
  state: 'idle',
  health: { level: 'unhealthy', score: 0, reasons: ['disconnected'] },
  stats: undefined,
};

/** The events that change what a snapshot shows; `message`, `ack` and `pub` are not among them. */
const CHANGES = ['state', 'health', 'breaker', 'retry', 'open', 'close', 'session'] as const;

/**
 * One snapshot per client, shared by every component that reads it: the client's
 * listeners exist while at least one component subscribes, and are all removed when
 * the last one leaves.
 */
class SnapshotStore {
  private snapshot: TetherSnapshot;
  private readonly subscribers = new Set<() => void>();
  private disposers: Disposer[] = [];

  constructor(private readonly client: TetherClient) {
    this.snapshot = this.read();
  }

  get(): TetherSnapshot {
    return this.snapshot;
  }

  subscribe(onChange: () => void): Disposer {
    this.subscribers.add(onChange);
    if (this.subscribers.size === 1) {
      this.disposers = CHANGES.map((name) => this.client.on(name, () => this.refresh()));
      this.refresh();
    }
    return () => {
      if (!this.subscribers.delete(onChange) || this.subscribers.size > 0) return;
      for (const dispose of this.disposers.splice(0)) dispose();
    };
  }

  /** Re-reads the client; tells subscribers when something they show changed. */
  refresh(): void {
    const next = this.read();
    const prev = this.snapshot;
    if (
      next.state === prev.state &&
      next.health.level === prev.health.level &&
      next.health.score === prev.health.score &&
      next.health.reasons.join() === prev.health.reasons.join() &&
      JSON.stringify(next.stats) === JSON.stringify(prev.stats)
    )
      return;
    this.snapshot = next;
    for (const notify of [...this.subscribers]) notify();
  }

  /** How many components read this client now (for tests of leaks). */
  get listeners(): number {
    return this.disposers.length;
  }

  private read(): TetherSnapshot {
    return { state: this.client.state, health: this.client.health(), stats: this.client.stats() };
  }
}

const stores = new WeakMap<TetherClient, SnapshotStore>();

/** The shared snapshot store of `client`. */
export function storeOf(client: TetherClient): SnapshotStore {
  let store = stores.get(client);
  if (!store) {
    store = new SnapshotStore(client);
    stores.set(client, store);
  }
  return store;
}

export function noClientSnapshot(): TetherSnapshot {
  return NO_CLIENT;
}

export type { SnapshotStore };
