import type { SharedStore } from './store/index.js';
import { type Delivery, deliveryOf, pubEncoder } from './subscription.js';

/** Where {@link TopicRelay} hands what it hears. */
export interface RelayTarget {
  /** A publication of `topic` appended by any process (this one's own too). */
  publication(topic: string, delivery: Delivery): void;
  /**
   * The store is reachable again after an outage, and again once its subscriptions are
   * back: what was missed meanwhile is in it.
   */
  reconnected(): void;
}

/**
 * The link of this process's topics to a store shared with other processes (the Redis
 * store): one subscription to a topic's publications per process, held while the topic
 * has a local subscriber, and the signal that the store is back after an outage (while
 * it was unreachable, the others' publications were not heard here). Without a shared
 * store it does nothing.
 */
export class TopicRelay {
  private readonly listening = new Map<string, () => void>();
  private readonly stopHealth: (() => void) | undefined;
  private readonly stopResubscribed: (() => void) | undefined;
  private down = false;

  constructor(
    private readonly shared: SharedStore | undefined,
    private readonly target: RelayTarget,
  ) {
    this.stopHealth = shared?.onHealth((health) => {
      if (!health.up) this.down = true;
      else if (this.down) {
        this.down = false;
        this.target.reconnected();
      }
    });
    // The store's commands come back before its subscriptions: a publication of another
    // process in between was heard by nobody here. Once they are back, catch up again.
    this.stopResubscribed = shared?.onResubscribed(() => this.target.reconnected());
  }

  /** Starts hearing `topic` (idempotent). */
  listen(topic: string): void {
    if (this.shared === undefined || this.listening.has(topic)) return;
    const encode = pubEncoder(topic);
    const stop = this.shared.subscribePublications(topic, (pub) => {
      const frame = pub.frame ?? encode(pub);
      this.target.publication(topic, deliveryOf(topic, pub, frame));
    });
    this.listening.set(topic, stop);
  }

  /** Stops hearing `topic` (its last local subscriber left). */
  stop(topic: string): void {
    this.listening.get(topic)?.();
    this.listening.delete(topic);
  }

  /** Stops everything (the server closes). */
  dispose(): void {
    this.stopHealth?.();
    this.stopResubscribed?.();
    for (const stop of this.listening.values()) stop();
    this.listening.clear();
  }
}
