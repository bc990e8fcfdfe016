/**
 * Entry of a bench worker process: a {@link LocalPool} driven over IPC by the
 * orchestrator's WorkerPool. Started with `fork()`; exits when the parent goes away.
 */
import { serveIpc } from './ipc.js';
import { type EchoOptions, LocalPool, type OpenOptions } from './pool.js';

const pool = new LocalPool();

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
});
process.send?.({ ready: true });
