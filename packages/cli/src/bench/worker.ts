/**
 * Entry of a bench worker process: a {@link LocalPool} (and the storm's
 * {@link StormClients}) driven over IPC by the orchestrator's WorkerPool. Started with `fork()`; exits when the parent goes away.
 */
import { serveIpc } from './ipc.js';
import { type EchoOptions, LocalPool, type OpenOptions } from './pool.js';
import { StormClients, type StormOpenOptions } from './storm-fleet.js';

const pool = new LocalPool();
const storm = new StormClients();

serveIpc({
  open: (options: OpenOptions) => pool.open(options),
  subscribeAll: (args: { topic: string; timeoutMs: number }) =>
    pool.subscribeAll(args.topic, args.timeoutMs),
  delivered: () => pool.delivered(),
  waitDelivered: (args: { perConnection: number; timeoutMs: number }) =>
    pool.waitDelivered(args.perConnection, args.timeoutMs),
  echo: (options: EchoOptions) => pool.echo(options),
  drops: () => pool.drops(),
  openCount: () => pool.openCount(),
  usage: () => pool.usage(),
  closeAll: () => pool.closeAll(),
  'storm.open': (options: StormOpenOptions) => storm.open(options),
  'storm.subscribe': (args: { topic: string; timeoutMs: number }) =>
    storm.subscribe(args.topic, args.timeoutMs),
  'storm.status': (args: { since: number }) => storm.status(args.since),
  'storm.opens': (args: { since: number }) => storm.opens(args.since),
  'storm.complete': (args: { published: number }) => storm.complete(args.published),
  'storm.audit': (args: { published: number }) => storm.audit(args.published),
  'storm.attempts': (args: { since: number; bucketMs: number }) =>
    storm.attempts(args.since, args.bucketMs),
  'storm.close': () => storm.close(),
});
process.send?.({ ready: true });
