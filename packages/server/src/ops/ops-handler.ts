import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Clock, systemClock, Timer } from '@tether/common';
import type { Json } from '@tether/protocol';
import type { TetherServer } from '../tether-server.js';
import { apiKeyMatches, requestApiKey } from './api-key.js';
import { OPS_DEFAULTS } from './defaults.js';
import type { TetherMetrics } from './metrics.js';
import type { StatsSampler } from './stats-sampler.js';

/** A dependency `/readyz` checks: resolves when usable, throws or rejects when not. */
export interface ReadinessCheck {
  /** Shown in the `/readyz` body, e.g. `store`. */
  name: string;
  check: () => void | Promise<void>;
  /**
   * Default true: a failing check makes `/readyz` answer 503. False: its failure is
   * reported in the body (e.g. `degraded: ...`) and readiness stays, for a dependency
   * whose outage the server rides out (the hub's backend: messages wait and are retried).
   */
  critical?: boolean;
}

/** Paths of the operations endpoints. */
export interface OpsPaths {
  /** Liveness. Default `/healthz`. */
  health: string;
  /** Readiness. Default `/readyz`. */
  ready: string;
  /** JSON statistics. Default `/stats`. */
  stats: string;
  /** Prometheus. Default `/metrics`. */
  metrics: string;
}

/** Options of {@link createOpsHandler}. */
export interface OpsHandlerOptions {
  tether: TetherServer;
  /** Serves `/metrics`; without it `/metrics` is not handled. */
  metrics?: TetherMetrics;
  /** Serves `/stats`; without it `/stats` is not handled. */
  sampler?: StatsSampler;
  /** What `/readyz` checks besides "not draining" (e.g. the store answers). */
  checks?: readonly ReadinessCheck[];
  /**
   * When set, `/stats` and `/metrics` require it (`Authorization: Bearer KEY` or
   * `X-Api-Key`): they list client IPs and user ids. Health checks stay open.
   */
  key?: string;
  paths?: Partial<OpsPaths>;
  /** A readiness check slower than this fails. Default 2000 ms. */
  readyTimeoutMs?: number;
  /** Sections added to the `/stats` report by name (the hub: `backend`). */
  statsExtra?: () => Record<string, Json>;
  clock?: Clock;
}

/** Handles a request if its path is one of the operations endpoints; returns whether it did. */
export type OpsRequestHandler = (request: IncomingMessage, response: ServerResponse) => boolean;

const DEFAULT_PATHS: OpsPaths = {
  health: '/healthz',
  ready: '/readyz',
  stats: '/stats',
  metrics: '/metrics',
};

/**
 * The operations endpoints of a Tether server, for any Node HTTP server (plain, or in an
 * Express/Fastify route):
 * - `GET /healthz`: liveness, 200 `{status:"ok", state}` while the process serves (also
 *   while draining: restarting a draining process would cut the drain short);
 * - `GET /readyz`: 200 when running and every check passes, else 503 with the failing
 *   checks named (load balancers stop sending new clients to a draining hub);
 * - `GET /stats`: the {@link StatsReport} JSON (`?connections=N`, `?since=MS`);
 * - `GET /metrics`: Prometheus text.
 */
export function createOpsHandler(options: OpsHandlerOptions): OpsRequestHandler {
  const paths = { ...DEFAULT_PATHS, ...options.paths };
  const clock = options.clock ?? systemClock;
  const timeoutMs = options.readyTimeoutMs ?? OPS_DEFAULTS.readyCheckTimeoutMs;
  const count = (route: string, status: number): void =>
    options.metrics?.countHttpRequest(route, status);

  return (request, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const path = url.pathname;
    let route: keyof OpsPaths | undefined;
    for (const key of Object.keys(paths) as (keyof OpsPaths)[]) {
      if (paths[key] === path) route = key;
    }
    if (route === undefined) return false;
    if (route === 'stats' && options.sampler === undefined) return false;
    if (route === 'metrics' && options.metrics === undefined) return false;
    const name = paths[route];
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      count(name, 405);
      sendJson(
        response,
        405,
        { error: { code: 'METHOD_NOT_ALLOWED', message: `${name} answers GET and HEAD` } },
        { Allow: 'GET, HEAD' },
      );
      return true;
    }
    if (
      (route === 'stats' || route === 'metrics') &&
      options.key !== undefined &&
      !apiKeyMatches(requestApiKey(request), options.key)
    ) {
      count(name, 401);
      sendJson(
        response,
        401,
        {
          error: {
            code: 'UNAUTHORIZED',
            message: `${name} needs the operations key (Authorization: Bearer KEY or X-Api-Key)`,
          },
        },
        { 'WWW-Authenticate': 'Bearer' },
      );
      return true;
    }
    switch (route) {
      case 'health':
        count(name, 200);
        sendJson(response, 200, { status: 'ok', state: options.tether.stats().state });
        return true;
      case 'ready':
        void readiness(options, timeoutMs, clock).then(
          ({ ready, checks }) => {
            const status = ready ? 200 : 503;
            count(name, status);
            sendJson(response, status, { status: ready ? 'ready' : 'not ready', checks });
          },
          () => {
            count(name, 503);
            sendJson(response, 503, { status: 'not ready', checks: {} });
          },
        );
        return true;
      case 'stats': {
        const sampler = options.sampler as StatsSampler;
        const connections = intParam(url, 'connections');
        const since = intParam(url, 'since');
        count(name, 200);
        sendJson(response, 200, {
          ...sampler.report({
            ...(connections === undefined ? {} : { connections }),
            ...(since === undefined ? {} : { since }),
          }),
          ...options.statsExtra?.(),
        });
        return true;
      }
      case 'metrics': {
        const metrics = options.metrics as TetherMetrics;
        metrics.metrics().then(
          (text) => {
            count(name, 200);
            response.writeHead(200, {
              'Content-Type': metrics.contentType,
              'Content-Length': Buffer.byteLength(text),
              'Cache-Control': 'no-store',
            });
            response.end(request.method === 'HEAD' ? undefined : text);
          },
          (err: unknown) => {
            count(name, 500);
            sendJson(response, 500, {
              error: {
                code: 'INTERNAL',
                message: `collecting metrics failed: ${err instanceof Error ? err.message : String(err)}`,
              },
            });
          },
        );
        return true;
      }
    }
  };
}

/**
 * What `/readyz` answers, without the HTTP: whether the server runs and every critical
 * check passes, and each check's outcome (`ok` or why not). The hub's workers answer their
 * primary with it.
 */
export function checkReadiness(
  options: Pick<OpsHandlerOptions, 'tether' | 'checks' | 'readyTimeoutMs' | 'clock'>,
): Promise<{ ready: boolean; checks: Record<string, string> }> {
  return readiness(
    options,
    options.readyTimeoutMs ?? OPS_DEFAULTS.readyCheckTimeoutMs,
    options.clock ?? systemClock,
  );
}

async function readiness(
  options: Pick<OpsHandlerOptions, 'tether' | 'checks'>,
  timeoutMs: number,
  clock: Clock,
): Promise<{ ready: boolean; checks: Record<string, string> }> {
  const state = options.tether.stats().state;
  const checks: Record<string, string> = { server: state === 'running' ? 'ok' : state };
  let ready = state === 'running';
  const results = await Promise.all(
    (options.checks ?? []).map(async ({ name, check, critical }) => {
      const outcome = await withTimeout(check, timeoutMs, clock, `tether.readyz.${name}`);
      return [name, outcome, critical !== false] as const;
    }),
  );
  for (const [name, outcome, critical] of results) {
    checks[name] = outcome;
    if (outcome !== 'ok' && critical) ready = false;
  }
  return { ready, checks };
}

/** Runs a check with a deadline; resolves `ok` or the reason it failed. */
function withTimeout(
  check: () => void | Promise<void>,
  timeoutMs: number,
  clock: Clock,
  timerName: string,
): Promise<string> {
  const timer = new Timer(timerName, clock);
  return new Promise<string>((resolve) => {
    timer.start(timeoutMs, () => resolve(`timed out after ${timeoutMs} ms`));
    Promise.resolve()
      .then(check)
      .then(
        () => {
          timer.clear();
          resolve('ok');
        },
        (err: unknown) => {
          timer.clear();
          resolve(`failed: ${err instanceof Error ? err.message : String(err)}`);
        },
      );
  });
}

function intParam(url: URL, name: string): number | undefined {
  const text = url.searchParams.get(name);
  if (text === null || !/^\d{1,15}$/.test(text)) return undefined;
  return Number(text);
}

/** Writes a JSON response (no body for HEAD). */
export function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (response.headersSent) {
    response.end();
    return;
  }
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
    ...headers,
  });
  response.end(response.req?.method === 'HEAD' ? undefined : text);
}
