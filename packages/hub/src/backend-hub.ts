import type { Json } from '@tether/protocol';
import type { Logger } from '@tether/server';
import { BackendGateway } from './backend-gateway.js';
import type { HubConfig } from './config-types.js';

/** How the hub uses its backend gateway: created from the config, checked, reported. */

/** The backend gateway when `backend.url` is set (docs/backend.md). */
export function createGateway(config: HubConfig, logger: Logger): BackendGateway | undefined {
  const url = config.backend.url;
  if (url === undefined) return undefined;
  return new BackendGateway(
    { ...config.backend, url },
    { logger, resumeWindowMs: config.resumeWindowMs },
  );
}

export function requireGateway(gateway: BackendGateway | undefined): BackendGateway {
  if (gateway === undefined) throw new Error('auth mode backend needs backend.url');
  return gateway;
}

/** The `backend` section of `/stats` (the dashboard's backend tile). */
export function backendStats(gateway: BackendGateway): Json {
  const health = gateway.monitor.health();
  return {
    state: health.state,
    failuresInARow: health.failuresInARow,
    lastError: health.lastError ?? null,
    messagesWaiting: health.messagesWaiting,
    retries: health.retries,
    calls: health.calls,
    queued: gateway.client.queued,
  };
}
