/**
 * Entry of the bench's hub child process: the bench server in a process of its own, so
 * its CPU and memory are measured apart from the load generator's. Started with `fork()`
 * and `--expose-gc`; configured by a JSON argument; driven over IPC; exits when told to
 * close or when the parent goes away.
 */
import type { ChildHubOptions } from './hub.js';
import { type BenchServer, startBenchServer } from './hub-server.js';
import { HubTracer } from './hub-trace.js';
import { serveIpc } from './ipc.js';
import { type PublishArgs, publishBurst } from './publish-burst.js';
import { collectGarbage, LoopDelayMonitor, processUsage } from './usage.js';

const { instrument = true, ...config } = JSON.parse(process.argv[2] ?? '{}') as ChildHubOptions;
let server: BenchServer | undefined;
// From the start: a restarted child measures the reconnect storm it meets. Left out
// where nobody reads them (bench:compare): a 10 ms delay monitor and a 20 ms trace tick
// wake the event loop 150 times a second, which the servers compared with it do not pay.
const loop = instrument ? new LoopDelayMonitor() : undefined;

let closing: Promise<void> | undefined;

async function closeAndExit(options: {
  retryAfterMs?: number;
  retrySpreadMs?: number;
}): Promise<void> {
  closing ??= (async () => {
    await server?.close({ drainTimeoutMs: 5_000, ...options });
    setImmediate(() => process.exit(0));
  })();
  return closing;
}

server = await startBenchServer(config);
const tracer = instrument ? new HubTracer(server.tether, server.endpoint) : undefined;
serveIpc(
  {
    publish: (args: PublishArgs) => publishBurst(server as BenchServer, args),
    usage: () => ({ ...processUsage(), connections: server?.tether.stats().connections ?? 0 }),
    loopDelay: () => loop?.take(),
    trace: (args: { since: number; bucketMs: number }) => tracer?.take(args.since, args.bucketMs),
    gc: () => collectGarbage(),
    close: (options: { retryAfterMs?: number; retrySpreadMs?: number }) => closeAndExit(options),
    // Answers as soon as the port is free (a standalone server stops listening when its
    // drain begins), so that a replacement can start while this process drains and exits.
    drain: (options: { retryAfterMs?: number; retrySpreadMs?: number }) => {
      void closeAndExit(options);
      return { listening: server?.tether.httpServer.listening ?? false };
    },
  },
  () => void closeAndExit({ retryAfterMs: 0, retrySpreadMs: 0 }),
);
process.send?.({ ready: true, port: server.port, url: server.url });
