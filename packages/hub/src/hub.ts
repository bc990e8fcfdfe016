import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createDashboardHandler } from '@tether/dashboard';
import {
  type CloseOptions,
  type Endpoint,
  httpServerOptions,
  type Logger,
  type Store,
  TetherServer,
} from '@tether/server';
import { createOpsHandler, instrumentStore, StatsSampler, TetherMetrics } from '@tether/server/ops';
import pino from 'pino';
import { backendStats, createGateway, requireGateway } from './backend-hub.js';
import { connectWorker, type HubWorker } from './cluster-worker.js';
import type { HubConfig } from './config-types.js';
import { createHttpApi } from './http-api.js';
import { ApiError, sendError, sendJson } from './http-errors.js';
import { createAdmin } from './hub-admin.js';
import { announce } from './hub-announce.js';
import { type AuthRefusalListener, createAuthenticate } from './hub-auth.js';
import { storeHistory } from './hub-history.js';
import { createOpsGate, opsClosed } from './hub-ops-access.js';
import { createPagesHandler } from './hub-pages.js';
import { guardedOrigins, isLoopbackHostHeader, siteGuard } from './hub-site-guard.js';
import { openStore } from './hub-store.js';
import { stdoutLogDestination } from './stdio.js';
import { connectionAuth, TopicAccess } from './topic-access.js';

/** Where the hub writes its human-readable lines (the logger gets the structured ones). */
export interface HubIo {
  stdout: (line: string) => void;
  stderr: (line: string) => void;
}

/** Options of {@link startHub} besides the configuration. */
export interface HubOptions {
  io: HubIo;
  /** Default: pino at `config.log.level`. */
  logger?: Logger;
  /** Warnings found while resolving the configuration, printed at start. */
  warnings?: readonly string[];
  /** The config file read, if any (printed at start). */
  configFile?: string;
  /**
   * Also export Node's process metrics (standard `process_*`, `nodejs_*` names). Default
   * true. prom-client's collectors (an event-loop monitor, a GC observer) stay for the
   * life of the process, so in-process tests turn this off.
   */
  processMetrics?: boolean;
  /**
   * Set in a worker of `tether serve --workers N` (cluster-worker.ts): the hub answers the
   * operations endpoints for every worker through the primary, tags its logs with the
   * slot, and tells the primary when it listens instead of printing it.
   */
  worker?: HubWorker;
}

/** A running hub. */
export interface Hub {
  readonly config: HubConfig;
  readonly tether: TetherServer;
  /** The WebSocket endpoint at `/ws`. */
  readonly endpoint: Endpoint;
  readonly http: Server;
  readonly store: Store;
  readonly metrics: TetherMetrics;
  readonly sampler: StatsSampler;
  readonly host: string;
  readonly port: number;
  /** `http://host:port`. */
  readonly url: string;
  /** Graceful shutdown (goodbye + 1012 to every client, drain, stop listening, close the store). Idempotent. */
  close(options?: CloseOptions): Promise<void>;
  /** Resolves once {@link close} finished. */
  readonly closed: Promise<void>;
}

/** Path of the WebSocket endpoint of the hub. */
export const WS_PATH = '/ws';

/**
 * Starts the hub described by `config`: the store, the Tether server with its `/ws`
 * endpoint (auth, topic permissions, limits), metrics and stats sampling, and one HTTP
 * server for the operations endpoints, the HTTP API, the admin endpoints, the dashboard
 * and the demo page. Resolves once it listens; prints
 * `tether listening on http://HOST:PORT (ws: /ws)`.
 */
export async function startHub(config: HubConfig, options: HubOptions): Promise<Hub> {
  const { io } = options;
  const { worker } = options;
  const logger: Logger =
    options.logger ??
    pino(
      {
        name: 'tether',
        level: underTest() ? 'silent' : config.log.level,
        ...(worker === undefined ? {} : { base: { pid: process.pid, worker: worker.slot } }),
      },
      stdoutLogDestination,
    );
  let sampler: StatsSampler | undefined;
  const onRefusal: AuthRefusalListener = (reason, context) => {
    logger.info({ ip: context.ip, reason }, 'token refused');
    sampler?.recordError({ kind: 'auth', code: 4001, message: reason, ip: context.ip });
  };
  const gateway = createGateway(config, logger);
  // First: a bad public key fails here, before anything needs cleaning up.
  const authenticate =
    config.auth.mode === 'backend'
      ? requireGateway(gateway).authenticate
      : await createAuthenticate(config.auth, onRefusal);

  const rawStore = openStore(config);
  let metrics: TetherMetrics | undefined;
  const store = instrumentStore(rawStore, (operation, seconds, ok) =>
    metrics?.observeStore(operation, seconds, ok),
  );
  // Replaced by the routes below, before the server listens: the server needs the HTTP
  // server, the routes need the server.
  let handler: (request: IncomingMessage, response: ServerResponse) => void = (_req, res) => {
    sendJson(res, 503, { error: { code: 'DRAINING', message: 'the hub is not serving yet' } });
  };
  const http = createServer(httpServerOptions(config.limits), (request, response) =>
    handler(request, response),
  );
  let tether: TetherServer;
  let endpoint: Endpoint;
  try {
    tether = new TetherServer({
      server: http,
      logger,
      store,
      drainTimeoutMs: config.drainTimeoutMs,
      restartReconnectRate: config.restartReconnectRate,
      trustProxy: config.trustProxy,
    });
    const access = new TopicAccess(config.topics, {
      topicsClaim: config.auth.mode === 'jwt' ? config.auth.topicsClaim : 'required',
    });
    const origins = guardedOrigins(siteGuard(config)) ?? config.origins;
    endpoint = tether.endpoint(WS_PATH, {
      heartbeatIntervalMs: config.heartbeat.intervalMs,
      heartbeatTimeoutMs: config.heartbeat.timeoutMs,
      handshakeTimeoutMs: config.handshakeTimeoutMs,
      resumeWindowMs: config.resumeWindowMs,
      maxMessageBytes: config.limits.maxMessageBytes,
      maxConnectionsPerIp: config.limits.maxConnectionsPerIp,
      rateLimit: config.limits.rate,
      slowConsumerBytes: config.limits.slowConsumerBytes,
      maxSessionsPerUser: config.limits.maxSessionsPerUser,
      maxPendingRequests: config.limits.maxPendingRequests,
      replayPageBytes: config.limits.replayPageBytes,
      maxSubscriptionsPerConnection: config.limits.maxSubscriptionsPerConnection,
      ...(origins === undefined ? {} : { origins }),
      authenticate,
      // The namespaces decide first (fail closed); then the backend, when it is asked.
      authorizePublish: ({ connection, topic, data }) =>
        access.allows('publish', topic, connectionAuth(connection.data, connection.user)) &&
        (gateway?.forwards('publish') !== true ||
          gateway.authorizePublish(connection, topic, data)),
      authorizeSubscribe: ({ connection, topic }) =>
        access.allows('subscribe', topic, connectionAuth(connection.data, connection.user)) &&
        (gateway?.forwards('subscribe') !== true || gateway.authorizeSubscribe(connection, topic)),
    });
    gateway?.attach(endpoint);
  } catch (err) {
    gateway?.close();
    await rawStore.close().catch(() => {});
    throw err;
  }
  metrics = new TetherMetrics(tether, { processMetrics: options.processMetrics ?? true });
  gateway?.monitor.register(metrics.registry);
  sampler = new StatsSampler(tether, { store: rawStore });
  sampler.start();

  let link: ReturnType<typeof connectWorker> | undefined;
  let draining = false;
  let closing: Promise<void> | undefined;
  let resolveClosed: () => void = () => {};
  const closed = new Promise<void>((done) => {
    resolveClosed = done;
  });
  const close = (closeOptions: CloseOptions = {}): Promise<void> => {
    closing ??= (async () => {
      draining = true;
      logger.info({}, 'draining');
      // Deliveries to the backend stop: unacked, their messages come again after a restart.
      gateway?.close();
      // The HTTP server keeps listening during the drain so late upgrades get 503 +
      // Retry-After and /readyz answers 503; then it closes.
      await tether.close(closeOptions);
      sampler?.stop();
      metrics?.dispose();
      link?.dispose();
      await new Promise<void>((done) => {
        http.close(() => done());
        http.closeAllConnections();
      });
      await rawStore.close().catch((err: unknown) => {
        logger.error(
          { err: err instanceof Error ? err.message : String(err) },
          'closing the store failed',
        );
      });
      resolveClosed();
    })();
    return closing;
  };

  const failed = (route: string, error: ApiError, request: IncomingMessage): void => {
    const ip = request.socket?.remoteAddress;
    const context = { route, status: error.status, code: error.code, ip };
    if (error.status >= 500)
      logger.error({ ...context, err: String(error.cause ?? error.message) }, error.message);
    else logger.debug(context, error.message);
    if (error.status >= 500 || error.status === 401) {
      sampler?.recordError({
        kind: 'api',
        code: error.code,
        message: `${route}: ${error.message}`,
        ...(ip === undefined ? {} : { ip }),
      });
    }
  };
  const answered = (route: string, status: number): void =>
    metrics?.countHttpRequest(route, status);
  const opsSources = {
    tether,
    metrics,
    sampler,
    checks: [
      { name: 'store', check: async () => void (await rawStore.getSession('tether-readyz')) },
      ...(gateway === undefined
        ? []
        : [{ name: 'backend', critical: false, check: () => gateway.check() }]),
    ],
    ...(gateway === undefined ? {} : { statsExtra: () => ({ backend: backendStats(gateway) }) }),
  };
  const opsHandler = createOpsHandler(opsSources);
  link =
    worker === undefined
      ? undefined
      : connectWorker(worker, opsSources, { drain: () => void close(), fallback: opsHandler });
  const routes = [
    // First: /stats, /metrics and /dashboard answer 401 here unless the ops key is given
    // or they are open (see opsClosed).
    createOpsGate({ key: config.api.opsKey, closed: opsClosed(config), answered, failed }),
    // In a worker: the same endpoints, answered for every worker.
    ...(link === undefined ? [] : [link.route]),
    opsHandler,
    createHttpApi({
      tether,
      endpoint,
      history: storeHistory(store),
      key: config.api.key,
      maxBodyBytes: config.limits.maxBodyBytes,
      draining: () => draining,
      answered,
      failed,
    }),
    createAdmin({
      tether,
      key: config.api.adminKey,
      maxBodyBytes: config.limits.maxBodyBytes,
      drain: () => {
        logger.warn({}, 'drain requested through /admin/drain');
        io.stderr('tether: drain requested through /admin/drain');
        void close();
      },
      answered,
      failed,
    }),
    ...(config.dashboard
      ? [createDashboardHandler({ basePath: '/dashboard', statsUrl: '/stats' })]
      : []),
    createPagesHandler({ demo: config.demo }),
  ];
  const checkHost = siteGuard(config).checkHost;
  handler = (request, response) => {
    try {
      if (checkHost && !isLoopbackHostHeader(request.headers.host)) {
        // DNS rebinding: a page under another name that resolves to 127.0.0.1.
        sendError(
          response,
          new ApiError(
            'FORBIDDEN',
            'this development hub (auth off) answers only requests for localhost, 127.0.0.1 or [::1]',
          ),
        );
        return;
      }
      for (const route of routes) if (route(request, response)) return;
      const path = (request.url ?? '/').split('?')[0];
      if (path === WS_PATH) {
        response.writeHead(426, {
          'Content-Type': 'text/plain; charset=utf-8',
          Upgrade: 'websocket',
        });
        response.end('this is a WebSocket endpoint (subprotocol tether.v1)\n');
        return;
      }
      sendJson(response, 404, {
        error: { code: 'NOT_FOUND', message: `nothing at ${path?.slice(0, 200)}` },
      });
    } catch (err) {
      logger.error(
        { err: err instanceof Error ? err.message : String(err) },
        'HTTP handler failed',
      );
      sendJson(response, 500, {
        error: { code: 'INTERNAL', message: 'the hub failed to handle the request' },
      });
    }
  };

  try {
    await new Promise<void>((done, fail) => {
      http.once('error', fail);
      http.listen(config.port, config.host, () => {
        http.off('error', fail);
        done();
      });
    });
  } catch (err) {
    link?.dispose();
    gateway?.close();
    sampler.stop();
    metrics.dispose();
    await tether.close({ drainTimeoutMs: 0 });
    await rawStore.close().catch(() => {});
    throw err;
  }
  const port = (http.address() as AddressInfo).port;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  // A worker's primary prints the one line for all of them, and worker 1 the rest.
  if (link === undefined) io.stdout(`tether listening on ${url} (ws: ${WS_PATH})`);
  else link.listening(url);
  if (worker === undefined || worker.slot === 1)
    announce(config, {
      io,
      logger,
      port,
      configFile: options.configFile,
      warnings: options.warnings ?? [],
    });
  return {
    config,
    tether,
    endpoint,
    http,
    store: rawStore,
    metrics,
    sampler,
    host: config.host,
    port,
    url,
    close,
    closed,
  };
}

/** Whether a test runner runs this process (its logs would only be noise there), as the server's default logger decides. */
function underTest(): boolean {
  return process.env.VITEST !== undefined || process.env.NODE_ENV === 'test';
}
