import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Disposer } from '@tether/common';
import type { Json } from '@tether/protocol';
import type { TetherServer } from '@tether/server';
import {
  checkReadiness,
  type OpsRequestHandler,
  type ReadinessCheck,
  type StatsSampler,
  sendJson,
  type TetherMetrics,
} from '@tether/server/ops';
import {
  isPrimaryMessage,
  type OpsQuery,
  type PrimaryMessage,
  type WorkerMessage,
} from './cluster-messages.js';

/**
 * The worker side of `tether serve --workers N`: each worker is a whole hub on the shared
 * port, and answers `/metrics`, `/stats`, `/healthz` and `/readyz` for all of them by
 * asking the primary, which collects every worker's local answer over IPC.
 */

/** Who this worker is; given to `startHub` by the CLI in a forked worker. */
export interface HubWorker {
  /** 1..N: stable across replacements, unlike `cluster.worker.id`. */
  slot: number;
}

/** The parts of a hub the worker's local answers read. */
export interface WorkerOpsSources {
  tether: TetherServer;
  metrics: TetherMetrics;
  sampler: StatsSampler;
  checks: readonly ReadinessCheck[];
  statsExtra?: () => Record<string, Json>;
}

/** How long a worker waits for the primary's aggregate before answering for itself. */
const ASK_TIMEOUT_MS = 5_000;

const PATHS: Record<string, OpsQuery['what']> = {
  '/metrics': 'metrics',
  '/stats': 'stats',
  '/healthz': 'health',
  '/readyz': 'ready',
};

/** The IPC channel to the primary (the worker's `process`); tests inject one. */
export interface PrimaryChannel {
  send?: ((message: WorkerMessage) => boolean) | undefined;
  on(event: 'message', listener: (message: unknown) => void): unknown;
  off(event: 'message', listener: (message: unknown) => void): unknown;
}

/** This worker's local answer to one query of the primary. */
export async function localAnswer(
  worker: HubWorker,
  sources: WorkerOpsSources,
  query: OpsQuery,
): Promise<unknown> {
  const identity = { slot: worker.slot, pid: process.pid };
  switch (query.what) {
    case 'metrics':
      return sources.metrics.registry.getMetricsAsJSON();
    case 'stats':
      return {
        ...identity,
        rssBytes: process.memoryUsage.rss(),
        report: {
          ...sources.sampler.report({
            ...(query.connections === undefined ? {} : { connections: query.connections }),
            ...(query.since === undefined ? {} : { since: query.since }),
          }),
          ...sources.statsExtra?.(),
        },
      };
    case 'ready':
      return { ...identity, ...(await checkReadiness(sources)) };
    case 'health':
      return { ...identity, state: sources.tether.stats().state };
  }
}

/**
 * Wires a hub into its primary: answers the primary's `collect` with {@link localAnswer},
 * drains on `drain`, tells it when it listens, and returns the route that
 * answers the operations endpoints for all workers (`fallback`, this worker's own
 * handler, answers when the primary does not).
 */
export function connectWorker(
  worker: HubWorker,
  sources: WorkerOpsSources,
  hooks: { drain: () => void; fallback: OpsRequestHandler; channel?: PrimaryChannel },
): {
  route: OpsRequestHandler;
  listening: (url: string) => void;
  dispose: Disposer;
} {
  const channel: PrimaryChannel = hooks.channel ?? (process as unknown as PrimaryChannel);
  let nextId = 1;
  const waiting = new Map<number, (message: PrimaryMessage & { tether: 'answer' }) => void>();
  const send = (message: WorkerMessage): boolean => {
    try {
      return channel.send?.(message) ?? false;
    } catch {
      // The channel closed under us (the primary died): the drain follows.
      return false;
    }
  };
  const onMessage = (message: unknown): void => {
    if (!isPrimaryMessage(message)) return;
    if (message.tether === 'drain') hooks.drain();
    else if (message.tether === 'answer') waiting.get(message.id)?.(message);
    else {
      void localAnswer(worker, sources, message.query).then(
        (body) => send({ tether: 'local', id: message.id, body }),
        (err: unknown) =>
          send({
            tether: 'local',
            id: message.id,
            body: { error: String(err), slot: worker.slot },
          }),
      );
    }
  };
  // No 'disconnect' handler: a worker whose primary is gone is ended by Node's cluster
  // itself at once (process.exit), so no orphan holds the port.
  channel.on('message', onMessage);

  const route: OpsRequestHandler = (request, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const what = PATHS[url.pathname];
    if (what === undefined || (request.method !== 'GET' && request.method !== 'HEAD')) {
      return false;
    }
    const id = nextId;
    nextId += 1;
    const query: OpsQuery = { what, ...intParams(url) };
    const timer = setTimeout(() => {
      waiting.delete(id);
      hooks.fallback(request, response);
    }, ASK_TIMEOUT_MS);
    timer.unref();
    waiting.set(id, (answer) => {
      clearTimeout(timer);
      waiting.delete(id);
      const path = url.pathname;
      sources.metrics.countHttpRequest(path, answer.status);
      respond(
        request,
        response,
        answer.status,
        answer.body,
        what === 'metrics' ? sources.metrics.contentType : undefined,
      );
    });
    if (!send({ tether: 'ask', id, query })) {
      clearTimeout(timer);
      waiting.delete(id);
      return hooks.fallback(request, response);
    }
    return true;
  };
  return {
    route,
    listening: (url) => void send({ tether: 'listening', url }),
    dispose: () => {
      channel.off('message', onMessage);
    },
  };
}

function respond(
  request: IncomingMessage,
  response: ServerResponse,
  status: number,
  body: unknown,
  textType: string | undefined,
): void {
  if (textType === undefined || typeof body !== 'string') {
    sendJson(response, status, body);
    return;
  }
  response.writeHead(status, {
    'Content-Type': textType,
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
  });
  response.end(request.method === 'HEAD' ? undefined : body);
}

function intParams(url: URL): { connections?: number; since?: number } {
  const out: { connections?: number; since?: number } = {};
  for (const name of ['connections', 'since'] as const) {
    const text = url.searchParams.get(name);
    if (text !== null && /^\d{1,15}$/.test(text)) out[name] = Number(text);
  }
  return out;
}
