/**
 * The server the restart audit runs in a child process (bundled with esbuild by
 * server-process.ts, run with `node`): one endpoint `/ws` on a fixed port with a SQLite
 * store, so that clients reconnect to the same address after a SIGTERM or a SIGKILL.
 *
 * Publishing is allowed to the client presenting the publisher token. The publisher
 * retries a publication whose `published` answer it did not get (the server may have
 * committed it right before a SIGKILL), so the authorize hook makes publication `n`
 * idempotent: it is allowed only when the topic's newest stored publication is `n - 1`.
 * A retry of a publication that is already stored is refused (FORBIDDEN), which the
 * publisher counts as done; the audit of every subscriber's sequence then proves it was.
 *
 * The publisher also asks (request `direct`, `{ n }`) for direct message n to every
 * subscriber session, which the handler makes idempotent the same way, per session.
 *
 * Protocol with the parent: the config is a JSON argument; one line `AUDIT_READY <json>`
 * on stdout once listening; SIGTERM closes gracefully (goodbye 1012 with a short hint),
 * closes the store and exits 0.
 */
import type { Json } from '@tether/protocol';
import { ReplyError, TetherServer } from '@tether/server';
import { SqliteStore } from '@tether/store-sqlite';
import type { Publication, Store } from '../../src/store/index.js';

/** What the parent passes in argv[2]. */
export interface EntryConfig {
  port: number;
  dbPath: string;
  /** Publications retained per topic: more than the audit publishes, so nothing is trimmed. */
  historyMaxCount: number;
  topic: string;
  publisherToken: string;
  resumeWindowMs: number;
}

const READY = 'AUDIT_READY';
/** The user every non-publisher client is. */
const SUBSCRIBER = 'subscriber';

function publicationNumber(data: Json | undefined): number | undefined {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return undefined;
  const n = (data as Record<string, Json>).n;
  return typeof n === 'number' && Number.isSafeInteger(n) ? n : undefined;
}

function storedNumber(publication: Publication | undefined): number {
  if (publication === undefined) return 0;
  return publicationNumber(JSON.parse(publication.data) as Json) ?? 0;
}

/** Writes warnings and errors of the server to stderr (the parent shows them on failure). */
const stderrLogger = {
  debug() {},
  info() {},
  warn(context: object, message: string) {
    process.stderr.write(`warn ${message} ${JSON.stringify(context)}\n`);
  },
  error(context: object, message: string) {
    process.stderr.write(`error ${message} ${JSON.stringify(context)}\n`);
  },
  child() {
    return stderrLogger;
  },
};

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? '{}') as EntryConfig;
  const store: Store = new SqliteStore({
    path: config.dbPath,
    historyMaxCount: config.historyMaxCount,
  });
  const tether = new TetherServer({
    port: config.port,
    host: '127.0.0.1',
    logger: stderrLogger,
    store,
  });
  const endpoint = tether.endpoint('/ws', {
    resumeWindowMs: config.resumeWindowMs,
    rateLimit: false,
    // Every subscriber is the one user SUBSCRIBER: 50 sessions of it are the point here.
    maxSessionsPerUser: 1_000,
    authenticate: ({ token }) =>
      token === config.publisherToken ? { user: 'publisher' } : { user: SUBSCRIBER },
    authorizePublish: async ({ connection, topic, data }) => {
      if (connection.user !== 'publisher' || topic !== config.topic) return false;
      const n = publicationNumber(data);
      if (n === undefined) return false;
      const head = await store.lastPublications(topic, 1);
      return n === storedNumber(head.publications[0]) + 1;
    },
  });
  // Direct message n to every subscriber session that has exactly n - 1 of them: a retry
  // (after a lost reply) fills in only the sessions a crash left behind, never twice.
  endpoint.handle('direct', async (data, { connection }) => {
    const n = publicationNumber(data);
    if (connection.user !== 'publisher' || n === undefined) {
      throw new ReplyError('FORBIDDEN', 'only the publisher sends { n }');
    }
    const sessions = await store.sessionsOfUser(SUBSCRIBER);
    const behind = sessions.filter((s) => s.outSeq === n - 1);
    await Promise.all(behind.map((s) => endpoint.sendTo(s.sid, { n })));
    return { sent: behind.length, sessions: sessions.length };
  });
  let closing = false;
  process.on('SIGTERM', () => {
    if (closing) return;
    closing = true;
    void tether
      .close({ drainTimeoutMs: 2_000, retryAfterMs: 20, retrySpreadMs: 80 })
      .then(() => store.close())
      .then(
        () => process.exit(0),
        (err: unknown) => {
          process.stderr.write(`error shutdown failed ${String(err)}\n`);
          process.exit(1);
        },
      );
  });
  const address = await tether.listen();
  process.stdout.write(`${READY} ${JSON.stringify({ port: address.port, pid: process.pid })}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`error startup failed ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
