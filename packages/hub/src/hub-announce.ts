import type { Logger } from '@tether/server';
import type { HubConfig } from './config-types.js';
import { redactStore } from './config-values.js';
import type { HubIo } from './hub.js';
import { opsClosed } from './hub-ops-access.js';

/** The lines an operator reads at start: where things are, and what is unsafe. */
export function announce(
  config: HubConfig,
  context: {
    io: HubIo;
    logger: Logger;
    port: number;
    configFile: string | undefined;
    warnings: readonly string[];
  },
): void {
  const { io, logger, port } = context;
  const local = `http://${config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  // A Redis URL may carry its password: never printed or logged.
  const shown = redactStore(config.store);
  const store =
    config.store === 'memory'
      ? 'memory (state is lost on restart)'
      : /^rediss?:/.test(config.store)
        ? `${shown} (shared)`
        : `${shown} (durable)`;
  io.stdout(
    `  store: ${store}${context.configFile === undefined ? '' : ` · config: ${context.configFile}`}`,
  );
  if (config.demo) io.stdout(`  demo: ${local}/`);
  if (config.dashboard) io.stdout(`  dashboard: ${local}/dashboard`);
  io.stdout(
    `  health: ${local}/healthz, ${local}/readyz · stats: ${local}/stats · metrics: ${local}/metrics${config.api.opsKey !== undefined ? ' (ops key)' : ''}`,
  );
  logger.info(
    { port, store: shown, auth: config.auth.mode, configFile: context.configFile },
    'hub started',
  );
  const warn = (message: string): void => {
    io.stderr(`tether: WARNING: ${message}`);
    logger.warn({}, message);
  };
  if (config.backend.url !== undefined) {
    io.stdout(
      `  backend: ${config.backend.url} (${config.backend.events.join(', ')}${config.backend.secret === undefined ? '; unsigned' : '; signed'})`,
    );
  }
  if (config.auth.mode === 'none') {
    warn(
      'authentication is OFF (insecure development mode): anyone who can reach this port can connect, subscribe and publish; configure a JWT secret or public key for production',
    );
  }
  if (config.auth.mode === 'jwt' && !config.auth.requireExp) {
    warn(
      'auth.requireExp is off: tokens without "exp" authenticate their connections forever; development only',
    );
  }
  if (config.api.key === undefined) {
    warn('the HTTP API (/api/*) is off: no API key; set TETHER_API_KEY or api.key to turn it on');
  }
  if (config.api.adminKey === undefined) {
    warn(
      'the admin endpoints (/admin/*) are off: no admin key; set TETHER_ADMIN_KEY or api.adminKey',
    );
  }
  if (config.ops.public && config.api.opsKey !== undefined) {
    warn('ops.public is ignored: an ops key is set, and /stats, /metrics and /dashboard need it');
  } else if (config.ops.public) {
    warn(
      'ops.public is on: /stats, /metrics and /dashboard answer anyone who can reach this port, and list user ids and client IPs; set TETHER_OPS_KEY (api.opsKey) instead',
    );
  } else if (config.api.opsKey === undefined && opsClosed(config)) {
    io.stderr(
      'tether: /stats, /metrics and /dashboard need the ops key, and none is set: they answer 401; set TETHER_OPS_KEY (api.opsKey) to open them with a key (Prometheus: bearer token), or ops.public: true to open them to anyone',
    );
  }
  for (const warning of context.warnings) warn(warning);
}
