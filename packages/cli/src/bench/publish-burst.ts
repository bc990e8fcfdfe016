import type { BenchServer } from './hub-server.js';

/** What one publish burst does. */
export interface PublishArgs {
  topic: string;
  /** Publications in this burst, all started in the same tick. */
  count: number;
  /** Size of the padding string in each payload. */
  payloadBytes: number;
  /** Number of the first publication (payload field `n`). */
  first: number;
}

/**
 * Publishes `count` numbered payloads `{ n, ts, pad }` in one tick (so the server can
 * coalesce them per connection, as it would under real bursts) and resolves once all
 * were accepted (stored, with a durable store).
 */
export async function publishBurst(server: BenchServer, args: PublishArgs): Promise<number> {
  const pad = 'x'.repeat(args.payloadBytes);
  const pending: Array<unknown> = [];
  for (let i = 0; i < args.count; i += 1) {
    pending.push(server.tether.publish(args.topic, { n: args.first + i, ts: Date.now(), pad }));
  }
  await Promise.all(pending);
  return args.count;
}
