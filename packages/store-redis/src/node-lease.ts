/**
 * The lease of one node in Redis: renewed a few times per `nodeLeaseMs`, and on every
 * (re)connection. Each renewal also releases the sessions of nodes whose lease ran out
 * (killed without a goodbye), so those sessions get a resume window and then expire
 * instead of staying "connected" forever under a node that no longer exists.
 */
import { Sweep } from '@tether/common';
import type { ResolvedRedisOptions } from './options.js';
import type { RedisConnection } from './redis-connection.js';

export class NodeLease {
  private readonly sweep: Sweep;
  private readonly stopHealth: () => void;

  constructor(
    private readonly connection: RedisConnection,
    private readonly options: ResolvedRedisOptions,
  ) {
    // A third of the lease: one late renewal never makes a live node look dead.
    const every = Math.max(100, Math.floor(options.nodeLeaseMs / 3));
    this.sweep = new Sweep('redis-node-lease', every, () => this.renewIfUp(), options.clock);
    this.sweep.start();
    this.stopHealth = connection.onHealth((health) => {
      if (health.up) this.renewIfUp();
    });
  }

  /** Renews the lease now; resolves with how many sessions of dead nodes it released. */
  renew(): Promise<number> {
    const { prefix, node, clock, nodeLeaseMs, deadNodeWindowMs } = this.options;
    return this.connection.op(() =>
      this.connection.client
        .nodeLease(prefix, node, clock.now(), nodeLeaseMs, deadNodeWindowMs)
        .then((n) => Number(n)),
    );
  }

  stop(): void {
    this.sweep.stop();
    this.stopHealth();
  }

  private renewIfUp(): void {
    if (!this.connection.health().up) return;
    this.renew().catch((err: unknown) => this.options.onError(this.connection.storeError(err)));
  }
}
