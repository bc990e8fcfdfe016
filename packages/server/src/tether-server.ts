import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DisposerBag, hintedDelay, OptionError, Timer } from '@tether/common';
import { CloseCode, type Json, SUBPROTOCOL } from '@tether/protocol';
import { type CloseOptions, checkCloseOptions, restartSpreadMs } from './close-options.js';
import { SERVER_DEFAULTS } from './defaults.js';
import { TetherEndpoint } from './endpoint.js';
import type { Endpoint } from './endpoint-types.js';
import { DeliveryError, ServerStateError } from './errors.js';
import { FlushScheduler } from './flush-scheduler.js';
import { requestPath } from './handshake.js';
import { HeartbeatSweep } from './heartbeat.js';
import { httpServerOptions } from './http-timeouts.js';
import { type EndpointOptions, resolveEndpointOptions } from './options.js';
import {
  type ResolvedServerOptions,
  resolveServerOptions,
  type TetherServerOptions,
} from './server-options.js';
import { emptyHealth, type StabilityReport } from './stability.js';
import type { EndpointStats } from './stats.js';
import { createStore, type Store } from './store/index.js';
import { type PublishResult, TopicHub, type TopicStats } from './topics.js';
import { type AnyHttpServer, UpgradeRouter } from './upgrade-router.js';

export type { CloseOptions } from './close-options.js';

/** Where a standalone server listens. */
export interface ServerAddress {
  host: string;
  port: number;
}

/** A snapshot of the whole server. */
export interface ServerStats {
  state: 'running' | 'draining' | 'closed';
  /** Open sockets over all endpoints. */
  connections: number;
  endpoints: EndpointStats[];
  topics: TopicStats;
}

/** After terminating, sockets report their close within moments; this bounds the wait if one never does. */
const TERMINATE_SETTLE_MS = 2_000;

/**
 * A Tether server: WebSocket endpoints by path on one HTTP server, attached to the
 * application's (`{ server }`: plain Node, Express, Fastify) or its own (`listen()`).
 *
 * @example
 * ```ts
 * const tether = new TetherServer({ port: 8080 });
 * const ws = tether.endpoint('/ws', { authenticate: ({ token }) => token === secret });
 * ws.handle('echo', (data) => data);
 * await tether.listen();
 * process.on('SIGTERM', () => tether.close());
 * ```
 */
export class TetherServer {
  /** The HTTP server the endpoints live on (the attached one, or the server's own). */
  readonly httpServer: AnyHttpServer;
  private readonly options: ResolvedServerOptions;
  private readonly standalone: boolean;
  private readonly byPath = new Map<string, TetherEndpoint>();
  private readonly disposers = new DisposerBag();
  private readonly flusher = new FlushScheduler();
  private readonly heartbeat: HeartbeatSweep;
  private readonly topics: TopicHub;
  /**
   * Where sessions, unacknowledged messages and topic histories live (the `store`
   * option). Closed by `close()` when the server built it from a string or `{ kind }`.
   */
  readonly store: Store;
  private readonly ownsStore: boolean;
  /** Whether sessions a previous process left "connected" were given their window. */
  /** The release of a previous process's sessions, once started (close waits for it). */
  private releasing: Promise<unknown> | undefined;
  private state: ServerStats['state'] = 'running';
  private closing: Promise<void> | undefined;

  constructor(options: TetherServerOptions = {}) {
    this.options = resolveServerOptions(options);
    this.heartbeat = new HeartbeatSweep(this.options.clock);
    const spec = this.options.store;
    this.store = createStore(spec, { clock: this.options.clock });
    this.ownsStore = this.store !== spec;
    this.topics = new TopicHub(this.store, this.options.clock, this.options.logger, this.flusher);
    this.disposers.add(() => this.topics.dispose());
    const reset = this.store.shared?.onReset(() => this.storeReset());
    if (reset !== undefined) this.disposers.add(reset);
    this.standalone = this.options.server === undefined;
    this.httpServer =
      this.options.server ??
      createServer(httpServerOptions(this.options), (req, res) => this.answerHttp(req, res));
  }

  /** The endpoints by path. */
  get endpoints(): ReadonlyMap<string, Endpoint> {
    return this.byPath;
  }

  /**
   * Adds a WebSocket endpoint at `path` (exact match, query strings ignored). Options are
   * validated now; an invalid one throws an `OptionError` naming it.
   */
  endpoint(path: string, options: EndpointOptions = {}): Endpoint {
    if (this.state !== 'running')
      throw new ServerStateError('endpoint(): the server is closing or closed');
    if (typeof path !== 'string' || !/^\/[^?#\s]*$/.test(path)) {
      throw new OptionError(
        'path',
        `expected a path starting with "/" without query or spaces, got ${String(path)}`,
      );
    }
    if (this.byPath.has(path))
      throw new OptionError('path', `this server already has an endpoint at "${path}"`);
    const resolved = resolveEndpointOptions(options);
    this.releaseSessions(resolved.resumeWindowMs);
    const endpoint = new TetherEndpoint(path, resolved, {
      clock: this.options.clock,
      logger: this.options.logger,
      flusher: this.flusher,
      heartbeat: this.heartbeat,
      topics: this.topics,
      store: this.store,
      trustProxy: this.options.trustProxy,
      isClosed: () => this.state === 'closed',
    });
    this.disposers.add(
      UpgradeRouter.for(this.httpServer).add(path, (req, socket, head) =>
        endpoint.handleUpgrade(req, socket, head),
      ),
    );
    this.disposers.add(this.heartbeat.add(endpoint));
    this.byPath.set(path, endpoint);
    return endpoint;
  }

  /** Standalone mode: starts listening on `port`/`host`; resolves with the bound address. */
  async listen(): Promise<ServerAddress> {
    if (!this.standalone) {
      throw new ServerStateError(
        'listen() is for standalone servers; the attached HTTP server listens on its own',
      );
    }
    if (this.state !== 'running')
      throw new ServerStateError('listen(): the server is closing or closed');
    if (this.httpServer.listening) return this.address() as ServerAddress;
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.httpServer.once('error', onError);
      const { port, host } = this.options;
      this.httpServer.listen({ port, host, backlog: SERVER_DEFAULTS.listenBacklog }, () => {
        this.httpServer.off('error', onError);
        resolve();
      });
    });
    const address = this.address() as ServerAddress;
    this.options.logger.info({ host: address.host, port: address.port }, 'listening');
    return address;
  }

  /** Where the HTTP server listens, if it does. */
  address(): ServerAddress | undefined {
    const address = this.httpServer.address() as AddressInfo | string | null;
    if (address === null || typeof address === 'string') return undefined;
    return { host: address.address, port: address.port };
  }

  /**
   * Publishes to a topic: resolves with its position once the store committed it; the
   * `pub` frame is encoded once and queued to every subscriber of every endpoint.
   */
  publish(topic: string, data: Json): Promise<PublishResult> {
    if (this.state === 'closed') {
      return Promise.reject(new DeliveryError('SERVER_CLOSED', 'the server is closed'));
    }
    return this.topics.publish(topic, data);
  }

  /**
   * The server's stability in one call: connections and their health (from RTT and
   * silence), `stale` events, closes by code and cause with the recent ones (bounded),
   * and recoveries (resumes ok / failed by reason), per endpoint and summed.
   * See docs/server.md.
   */
  stabilityReport(): StabilityReport {
    const endpoints = [...this.byPath.values()].map((e) => e.stabilityReport());
    const health = emptyHealth();
    for (const e of endpoints)
      for (const [key, n] of Object.entries(e.health)) health[key as keyof typeof health] += n;
    return {
      time: this.options.clock.now(),
      connections: {
        total: endpoints.reduce((sum, e) => sum + e.connections.total, 0),
        ready: endpoints.reduce((sum, e) => sum + e.connections.ready, 0),
      },
      health,
      endpoints,
    };
  }

  stats(): ServerStats {
    const endpoints = [...this.byPath.values()].map((e) => e.stats());
    return {
      state: this.state,
      connections: endpoints.reduce((sum, e) => sum + e.connections, 0),
      endpoints,
      topics: this.topics.stats(),
    };
  }

  /**
   * Graceful shutdown: new upgrades get 503 + Retry-After; every client gets `goodbye`
   * (1012, reason, a `retryAfter` jittered per client so they do not return at once) and
   * is closed with 1012 once its in-flight handlers finished; resolves when every socket
   * is closed, terminating the rest after `drainTimeoutMs`. Idempotent.
   *
   * A standalone server stops listening at once (new TCP connections are refused, so a
   * replacement process can bind the port while this one drains; upgrades arriving on
   * connections already open get 503) and closes its HTTP server at the end. An attached
   * HTTP server is left to the application: it keeps listening, and upgrades to the
   * draining endpoints get 503 + Retry-After.
   */
  close(options: CloseOptions = {}): Promise<void> {
    checkCloseOptions(options);
    this.closing ??= this.shutdown(options);
    return this.closing;
  }

  private async shutdown(options: CloseOptions): Promise<void> {
    const { logger } = this.options;
    const drainTimeoutMs = options.drainTimeoutMs ?? this.options.drainTimeoutMs;
    const reason = options.reason ?? 'server shutting down';
    const base = options.retryAfterMs ?? SERVER_DEFAULTS.restartRetryAfterMs;
    const connections = this.stats().connections;
    const spread =
      options.retrySpreadMs ?? restartSpreadMs(connections, this.options.restartReconnectRate);
    this.state = 'draining';
    const endpoints = [...this.byPath.values()];
    logger.info(
      { connections, drainTimeoutMs, retryAfterMs: base, retrySpreadMs: spread },
      'shutting down',
    );

    const httpClosed =
      this.standalone && this.httpServer.listening ? this.stopListening() : Promise.resolve();
    for (const endpoint of endpoints) endpoint.beginDrain(reason, () => hintedDelay(base, spread));
    const drained = Promise.all(endpoints.map((e) => e.drained()));
    const timedOut = await this.race(drained, drainTimeoutMs, 'tether.drain');
    if (timedOut) {
      logger.info({ connections: this.stats().connections }, 'drain timeout, terminating the rest');
      for (const endpoint of endpoints) endpoint.terminateAll();
      if (await this.race(drained, TERMINATE_SETTLE_MS, 'tether.terminate')) {
        logger.error({}, 'sockets did not report their close after terminate');
      }
    }
    this.heartbeat.stop();
    this.disposers.dispose();
    // Every processed seq and disconnect time reaches the store before it closes, and so
    // does the release of a previous process's sessions (a close soon after the start).
    await Promise.all([...endpoints.map((e) => e.idle()), this.releasing]);
    for (const endpoint of endpoints) endpoint.dispose();
    if (this.ownsStore) {
      await this.store.close().catch((err: unknown) => {
        logger.error(
          { err: err instanceof Error ? err.message : String(err) },
          'closing the store failed',
        );
      });
    }
    if (this.standalone) {
      // Upgraded sockets count as connections of the HTTP server: all gone now.
      const server = this.httpServer as ReturnType<typeof createServer>;
      server.closeAllConnections?.();
      await httpClosed;
    }
    this.state = 'closed';
    logger.info({}, 'closed');
  }

  /**
   * A durable store may hold sessions that a previous process left marked connected (it
   * was killed): they get their resume window from now, then expire. Done once, before
   * this process binds any session (store operations run in order).
   */
  private releaseSessions(resumeWindowMs: number): void {
    if (this.releasing !== undefined) return;
    const now = this.options.clock.now();
    // A store shared with other processes: only this process's own sessions (the others
    // hold theirs connected right now).
    this.releasing = this.store
      .releaseSessions(now, now + resumeWindowMs, this.store.shared?.node)
      .catch((err: unknown) => {
        this.options.logger.error(
          { err: err instanceof Error ? err.message : String(err) },
          'releasing sessions of a previous process failed',
        );
      });
  }

  /**
   * The shared store came back without its data (Redis restarted empty): no session or
   * topic position of a connected client exists any more. Every connection is closed
   * with SERVICE_RESTART, so each client reconnects and is told explicitly: `resumed:
   * false` for its session, `recovered: false` with the new epoch for each topic.
   */
  private storeReset(): void {
    let closed = 0;
    for (const endpoint of this.byPath.values()) {
      for (const connection of endpoint.connections.values()) {
        connection.close(CloseCode.SERVICE_RESTART, 'the store lost its data');
        closed++;
      }
    }
    this.options.logger.error({ closed }, 'the store came back empty: every client starts over');
  }

  /** Stops accepting TCP connections; resolves when the HTTP server has no connection left. */
  private stopListening(): Promise<void> {
    const server = this.httpServer as ReturnType<typeof createServer>;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections?.();
    return closed;
  }

  /** Waits for `promise` or `ms` on a named timer; true when the time ran out first. */
  private race(promise: Promise<unknown>, ms: number, name: string): Promise<boolean> {
    const timer = new Timer(name, this.options.clock);
    return new Promise<boolean>((resolve) => {
      timer.start(ms, () => resolve(true));
      promise.then(
        () => {
          timer.clear();
          resolve(false);
        },
        () => {
          timer.clear();
          resolve(false);
        },
      );
    });
  }

  /** Standalone mode: plain HTTP requests. An endpoint path says it wants an upgrade; others 404. */
  private answerHttp(request: IncomingMessage, response: ServerResponse): void {
    const path = requestPath(request);
    if (this.byPath.has(path)) {
      response.writeHead(426, {
        'Content-Type': 'text/plain; charset=utf-8',
        Upgrade: 'websocket',
      });
      response.end(`this is a WebSocket endpoint: connect with the subprotocol "${SUBPROTOCOL}"\n`);
      return;
    }
    response.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
    response.end('not found\n');
  }
}
