/**
 * Entry of the netns check's two child processes, each started inside its namespace
 * (`ip netns exec NS node netns-child.js CONFIG`) and driven over IPC:
 *
 * - `server`: the bench server on the server namespace's address. Publishes numbered
 *   publications at a steady rate, audits the numbered messages each client sends, and
 *   logs every heartbeat-timeout close (4008) with its wall-clock time.
 * - `clients`: real Tether clients in the client namespace. Each subscribes to the
 *   numbered publications and sends numbered reliable messages at a steady rate; each
 *   logs its closes with their wall-clock time.
 *
 * Both processes run on this machine, so their wall clocks are the same clock.
 */

import { type BenchServer, startBenchServer } from '../bench/hub-server.js';
import { serveIpc } from '../bench/ipc.js';
import { AuditedClient } from '../chaos/audited-client.js';
import { type SequenceVerdict, sumVerdicts } from '../chaos/sequence-audit.js';
import { InOrderPublisher, SenderAudits } from '../chaos/server-audit.js';

/** Topic of the numbered publications. */
export const NETNS_TOPIC = 'stability:netns';

export interface NetnsServerConfig {
  role: 'server';
  host: string;
  heartbeatIntervalMs: number;
  heartbeatTimeoutMs: number;
}

export interface NetnsClientsConfig {
  role: 'clients';
  url: string;
  clients: number;
  /** Reconnect backoff cap: the check measures delivery, not a minute of backoff. */
  maxReconnectDelayMs: number;
  connectTimeoutMs: number;
}

/** A close seen by either side: which client, the code, and when (wall clock, ms). */
export interface NetnsClose {
  name: string;
  code: number;
  at: number;
}

/** What the client process reports. */
export interface NetnsClientsStatus {
  open: number;
  /** Per client: distinct publications received so far. */
  received: number[];
  /** Every client has all of 1..published and an answer to every send. */
  caughtUp: boolean;
}

export interface NetnsClientsReport {
  publications: SequenceVerdict;
  sent: Record<string, number>;
  sendsAcked: number;
  sendsFailed: number;
  closes: NetnsClose[];
  reconnects: number;
  resumes: number;
  resumeFailures: number;
  gapSignals: number;
}

export interface NetnsServerReport {
  published: number;
  publishErrors: number;
  sends: SequenceVerdict;
  /** Every client's 1..sent arrived. */
  complete: boolean;
  closes: NetnsClose[];
}

/** A steady loop: `tick` every `everyMs` until stopped. */
function every(everyMs: number, tick: () => void): () => void {
  const timer = setInterval(tick, everyMs);
  return () => clearInterval(timer);
}

async function runServer(config: NetnsServerConfig): Promise<void> {
  const received = new SenderAudits();
  const closes: NetnsClose[] = [];
  let stopPublishing: (() => void) | undefined;
  const server: BenchServer = await startBenchServer({
    host: config.host,
    port: 0,
    heartbeatIntervalMs: config.heartbeatIntervalMs,
    heartbeatTimeoutMs: config.heartbeatTimeoutMs,
    onMessage: (data) => received.record(data),
  });
  const publisher = new InOrderPublisher((data) => server.tether.publish(NETNS_TOPIC, data));
  server.endpoint.on('close', (event) => {
    const name = event.connection.info().client?.name;
    if (name !== undefined) closes.push({ name, code: event.code, at: Date.now() });
  });
  const close = async (): Promise<void> => {
    stopPublishing?.();
    await server.close({ drainTimeoutMs: 1_000, retryAfterMs: 0, retrySpreadMs: 0 });
    setImmediate(() => process.exit(0));
  };
  serveIpc(
    {
      start: (args: { everyMs: number }) => {
        stopPublishing = every(args.everyMs, () => publisher.next());
      },
      published: () => publisher.published,
      stop: async () => {
        stopPublishing?.();
        await publisher.settled();
        return publisher.published;
      },
      report: (args: { sent: Record<string, number> }): NetnsServerReport => {
        const sent = Object.entries(args.sent);
        return {
          published: publisher.published,
          publishErrors: publisher.failed,
          sends: received.verdict(sent),
          complete: sent.every(([name, count]) => received.of(name).complete(count)),
          closes,
        };
      },
      close,
    },
    () => void close(),
  );
  process.send?.({ ready: true, port: server.port, url: server.url });
}

async function runClients(config: NetnsClientsConfig): Promise<void> {
  const clients = Array.from(
    { length: config.clients },
    (_, i) =>
      new AuditedClient(`netns-${i + 1}`, config.url, {
        breakerThreshold: 0,
        maxReconnectDelayMs: config.maxReconnectDelayMs,
        connectTimeoutMs: config.connectTimeoutMs,
      }),
  );
  const sent = new Map(clients.map((c) => [c.name, 0]));
  let stopSending: (() => void) | undefined;
  const close = async (): Promise<void> => {
    stopSending?.();
    await Promise.all(clients.map((c) => c.close().catch(() => {})));
    setImmediate(() => process.exit(0));
  };
  const caughtUp = (published: number): boolean =>
    clients.every(
      (c) =>
        c.open &&
        c.pubs.complete(published) &&
        c.sendsAcked + c.sendsFailed >= (sent.get(c.name) ?? 0),
    );
  serveIpc(
    {
      subscribe: () => Promise.all(clients.map((c) => c.subscribe(NETNS_TOPIC))).then(() => true),
      start: (args: { everyMs: number }) => {
        stopSending = every(args.everyMs, () => {
          for (const c of clients) {
            const n = (sent.get(c.name) ?? 0) + 1;
            sent.set(c.name, n);
            void c.send(n);
          }
        });
      },
      stop: () => {
        stopSending?.();
        return Object.fromEntries(sent);
      },
      status: (args: { published: number }): NetnsClientsStatus => ({
        open: clients.filter((c) => c.open).length,
        received: clients.map((c) => c.pubs.distinct),
        caughtUp: caughtUp(args.published),
      }),
      report: (args: { published: number }): NetnsClientsReport => ({
        publications: sumVerdicts(clients.map((c) => c.pubs.verdict(args.published))),
        sent: Object.fromEntries(sent),
        sendsAcked: clients.reduce((sum, c) => sum + c.sendsAcked, 0),
        sendsFailed: clients.reduce((sum, c) => sum + c.sendsFailed, 0),
        closes: clients.flatMap((c) => c.closeLog.map((e) => ({ name: c.name, ...e }))),
        reconnects: clients.reduce((sum, c) => sum + c.reconnects, 0),
        resumes: clients.reduce((sum, c) => sum + c.resumes, 0),
        resumeFailures: clients.reduce((sum, c) => sum + c.resumeFailures, 0),
        gapSignals: clients.reduce((sum, c) => sum + c.gaps, 0),
      }),
      close,
    },
    () => void close(),
  );
  process.send?.({ ready: true });
}

const config = JSON.parse(process.argv[2] ?? '{}') as NetnsServerConfig | NetnsClientsConfig;
if (config.role === 'server') await runServer(config);
else await runClients(config);
