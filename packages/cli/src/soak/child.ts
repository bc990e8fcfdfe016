/**
 * Entry of the soak's server child: the bench server (memory or SQLite store, a short
 * resume window) in a process of its own, started with `--expose-gc`, so that its memory
 * is measured apart from the load and a full GC can be asked for before each measurement.
 * A publisher in the child keeps one topic's messages flowing all the time. Driven over IPC
 * (`snapshot`, `close`); exits when the parent goes away.
 */
import { startBenchServer } from '../bench/hub-server.js';
import { serveIpc } from '../bench/ipc.js';
import { collectGarbage } from '../bench/usage.js';
import type { SoakChildConfig, SoakSnapshot } from './verdict.js';

const config = JSON.parse(process.argv[2] ?? '{}') as SoakChildConfig;
const server = await startBenchServer({
  host: '127.0.0.1',
  port: 0,
  store: config.store,
  resumeWindowMs: config.resumeWindowMs,
  // Reliable client messages are processed (and acked); the soak needs no more of them.
  onMessage: () => {},
});

// The topic's history is full from the start (the default keeps 1000 publications): what it
// holds is then the same at both measurements, and growth means something else grew.
let published = 0;
for (let i = 0; i < config.prefill; i += 1) {
  published += 1;
  await server.tether.publish(config.topic, { n: published, ts: Date.now() });
}
let publishing = false;
const publisher = setInterval(() => {
  if (publishing) return;
  publishing = true;
  published += 1;
  server.tether.publish(config.topic, { n: published, ts: Date.now() }).then(
    () => {
      publishing = false;
    },
    () => {
      publishing = false;
    },
  );
}, config.publishEveryMs);

function countBy(values: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}

async function snapshot(withGc: boolean): Promise<SoakSnapshot> {
  const store = await server.tether.store.stats();
  const gc = withGc && collectGarbage();
  const memory = process.memoryUsage();
  const stats = server.tether.stats();
  const endpoint = stats.endpoints[0];
  return {
    gc,
    rssBytes: memory.rss,
    heapUsedBytes: memory.heapUsed,
    externalBytes: memory.external,
    connections: stats.connections,
    sessions: endpoint?.sessions ?? 0,
    storedSessions: store.sessions,
    pendingHandshakes: endpoint?.pendingHandshakes ?? 0,
    inFlight: endpoint?.inFlight ?? 0,
    subscriptions: stats.topics.subscriptions,
    resources: countBy(process.getActiveResourcesInfo()),
    published,
  };
}

async function closeAndExit(): Promise<void> {
  clearInterval(publisher);
  await server.close({ drainTimeoutMs: 2_000 });
  setImmediate(() => process.exit(0));
}

serveIpc(
  {
    snapshot: () => snapshot(true),
    // Progress during the run: no GC, which would disturb what is measured.
    usage: () => snapshot(false),
    close: () => closeAndExit(),
  },
  () => void closeAndExit(),
);
process.send?.({ ready: true, url: server.url });
