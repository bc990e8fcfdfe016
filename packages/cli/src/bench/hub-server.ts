import { appendFileSync } from 'node:fs';
import type { Json } from '@tether/protocol';
import { type Endpoint, type Logger, silentLogger, TetherServer } from '@tether/server';
import { createSqliteStore } from '@tether/store-sqlite';
import { ECHO_METHOD } from './tether-load.js';

/**
 * The server the bench (and the stability suite) runs when it is not given a URL: a
 * standalone TetherServer with one endpoint at `/ws`, tuned for load from one machine:
 * no rate limit and no per-IP cap (every load client comes from loopback), an `echo`
 * request handler, and clients allowed to publish (the chaos audit publishes through
 * the proxy). Heartbeats, resume and stores are Tether's defaults unless set.
 */

export interface BenchServerOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** `memory` (default) or `sqlite:PATH`. */
  store?: 'memory' | `sqlite:${string}`;
  heartbeatIntervalMs?: number;
  heartbeatTimeoutMs?: number;
  resumeWindowMs?: number;
  /** Unsent bytes before a connection is closed as a slow consumer (4009). */
  slowConsumerBytes?: number;
  logger?: Logger;
  /** Called for every reliable client `msg` (the chaos audit checks them). */
  onMessage?: (data: Json, sessionId: string | undefined) => void;
  /**
   * A file that gets one JSON line per client `msg`, written before the handler returns
   * (so before the ack): the record of what was processed, across restarts of a child.
   */
  messageLog?: string;
}

export interface BenchServer {
  readonly tether: TetherServer;
  readonly endpoint: Endpoint;
  readonly port: number;
  /** `ws://host:port/ws`. */
  readonly url: string;
  /** Graceful close: goodbye + 1012 with a retry hint, then the drain. */
  close(options?: {
    retryAfterMs?: number;
    retrySpreadMs?: number;
    drainTimeoutMs?: number;
  }): Promise<void>;
}

/** Path of the bench server's endpoint. */
export const BENCH_PATH = '/ws';

/** Cap well above any bench size; the per-IP limit protects real deployments, not this. */
const UNLIMITED_CONNECTIONS = 10_000_000;

export async function startBenchServer(options: BenchServerOptions): Promise<BenchServer> {
  // A SQLite store is built here and passed in, so this function owns it: it closes
  // after the server's drain (the server closes only stores it built itself).
  const store =
    options.store === undefined || options.store === 'memory'
      ? undefined
      : createSqliteStore(options.store);
  const tether = new TetherServer({
    host: options.host,
    port: options.port,
    logger: options.logger ?? silentLogger,
    ...(store === undefined ? {} : { store }),
  });
  const close = async (closeOptions: Parameters<BenchServer['close']>[0] = {}): Promise<void> => {
    try {
      await tether.close(closeOptions);
    } finally {
      await store?.close();
    }
  };
  const endpoint = tether.endpoint(BENCH_PATH, {
    rateLimit: false,
    maxConnectionsPerIp: UNLIMITED_CONNECTIONS,
    authorizePublish: () => true,
    ...(options.heartbeatIntervalMs === undefined
      ? {}
      : { heartbeatIntervalMs: options.heartbeatIntervalMs }),
    ...(options.heartbeatTimeoutMs === undefined
      ? {}
      : { heartbeatTimeoutMs: options.heartbeatTimeoutMs }),
    ...(options.resumeWindowMs === undefined ? {} : { resumeWindowMs: options.resumeWindowMs }),
    ...(options.slowConsumerBytes === undefined
      ? {}
      : { slowConsumerBytes: options.slowConsumerBytes }),
  });
  endpoint.handle(ECHO_METHOD, (data) => data ?? null);
  const { onMessage, messageLog } = options;
  if (onMessage !== undefined || messageLog !== undefined) {
    endpoint.onMessage((data, { connection }) => {
      if (messageLog !== undefined) appendFileSync(messageLog, `${JSON.stringify(data)}\n`);
      onMessage?.(data, connection.sessionId);
    });
  }
  let address: { host: string; port: number };
  try {
    address = await tether.listen();
  } catch (err) {
    await close({ drainTimeoutMs: 0 });
    throw err;
  }
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    tether,
    endpoint,
    port: address.port,
    url: `ws://${host === '0.0.0.0' ? '127.0.0.1' : host}:${address.port}${BENCH_PATH}`,
    close,
  };
}
