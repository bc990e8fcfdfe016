import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Disposer } from '@tether/common';
import { type CloseOptions, type Logger, TetherServer } from '@tether/server';
import type { ServeArgs } from './args.js';

/** Where the CLI writes. Injected so tests run it in-process. */
export interface CliIo {
  stdout: (line: string) => void;
  stderr: (line: string) => void;
}

/** Options of {@link serve}: the parsed flags, plus what tests inject. */
export interface ServeOptions extends Omit<ServeArgs, 'help'> {
  logger?: Logger;
  /** Drain timeout of the graceful shutdown. Default: the server's (10 s). */
  drainTimeoutMs?: number;
}

/** A running hub. */
export interface ServeHandle {
  readonly tether: TetherServer;
  readonly http: Server;
  readonly host: string;
  readonly port: number;
  /** `http://host:port`. */
  readonly url: string;
  /** Graceful shutdown (goodbye + 1012 to every client, drain, stop listening). Idempotent. */
  close(options?: CloseOptions): Promise<void>;
  /** Resolves once {@link close} finished. */
  readonly closed: Promise<void>;
}

/** Path of the WebSocket endpoint of the hub. */
export const WS_PATH = '/ws';
/** Path of the health check. */
export const HEALTH_PATH = '/healthz';

/**
 * Starts the hub: an HTTP server with `GET /healthz` (200 `{"status":"ok"}`, 503
 * `{"status":"draining"}` during shutdown), the Tether endpoint at `/ws`, 404 elsewhere.
 * Prints `tether listening on http://HOST:PORT (ws: /ws)` once ready.
 */
export async function serve(options: ServeOptions, io: CliIo): Promise<ServeHandle> {
  let draining = false;
  const http = createServer((req, res) => answer(req, res, draining));
  const tether = new TetherServer({
    server: http,
    ...(options.logger === undefined ? {} : { logger: options.logger }),
    ...(options.drainTimeoutMs === undefined ? {} : { drainTimeoutMs: options.drainTimeoutMs }),
  });
  tether.endpoint(WS_PATH, {
    ...(options.heartbeatIntervalMs === undefined
      ? {}
      : { heartbeatIntervalMs: options.heartbeatIntervalMs }),
    ...(options.heartbeatTimeoutMs === undefined
      ? {}
      : { heartbeatTimeoutMs: options.heartbeatTimeoutMs }),
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port, options.host, () => {
      http.off('error', reject);
      resolve();
    });
  });
  const port = (http.address() as AddressInfo).port;
  const url = `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`;
  io.stdout(`tether listening on ${url} (ws: ${WS_PATH})`);

  let resolveClosed: () => void = () => {};
  const closed = new Promise<void>((resolve) => {
    resolveClosed = resolve;
  });
  let closing: Promise<void> | undefined;
  const close = (closeOptions: CloseOptions = {}): Promise<void> => {
    closing ??= (async () => {
      draining = true;
      // The attached HTTP server keeps listening during the drain so late upgrades get
      // 503 + Retry-After and health checks see "draining"; then it closes.
      await tether.close(closeOptions);
      await new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      });
      resolveClosed();
    })();
    return closing;
  };
  return { tether, http, host: options.host, port, url, close, closed };
}

function answer(req: IncomingMessage, res: ServerResponse, draining: boolean): void {
  const path = (req.url ?? '/').split('?')[0];
  if (path === HEALTH_PATH && (req.method === 'GET' || req.method === 'HEAD')) {
    json(res, draining ? 503 : 200, { status: draining ? 'draining' : 'ok' });
    return;
  }
  if (path === WS_PATH) {
    res.writeHead(426, { 'Content-Type': 'text/plain; charset=utf-8', Upgrade: 'websocket' });
    res.end('this is a WebSocket endpoint (subprotocol tether.v1)\n');
    return;
  }
  json(res, 404, { status: 'not found' });
}

function json(res: ServerResponse, status: number, body: object): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
  });
  res.end(text);
}

/** The part of `process` the signal handling needs. */
export interface SignalSource {
  on(signal: 'SIGTERM' | 'SIGINT', listener: () => void): unknown;
  off(signal: 'SIGTERM' | 'SIGINT', listener: () => void): unknown;
}

/**
 * On SIGTERM or SIGINT: a graceful shutdown of `handle`; a second signal while draining
 * calls `forceExit` (an operator pressing Ctrl-C twice means it). Returns the disposer.
 */
export function handleShutdownSignals(
  handle: Pick<ServeHandle, 'close'>,
  source: SignalSource,
  io: CliIo,
  forceExit: (code: number) => void,
): Disposer {
  let received = false;
  const onSignal = (signal: 'SIGTERM' | 'SIGINT') => () => {
    if (received) {
      io.stderr(`tether: ${signal} again, exiting without waiting for the drain`);
      forceExit(1);
      return;
    }
    received = true;
    io.stderr(`tether: ${signal} received, draining connections`);
    void handle.close();
  };
  const onTerm = onSignal('SIGTERM');
  const onInt = onSignal('SIGINT');
  source.on('SIGTERM', onTerm);
  source.on('SIGINT', onInt);
  return () => {
    source.off('SIGTERM', onTerm);
    source.off('SIGINT', onInt);
  };
}
