/**
 * @tether/hub — the standalone Tether server behind `tether serve`: one configuration
 * (file, environment, flags), the WebSocket endpoint `/ws` with JWT auth and topic
 * permissions, the HTTP API (publish, send to a user), admin endpoints, health, readiness,
 * Prometheus metrics, `/stats`, the live dashboard and the demo page. The memory store or
 * a SQLite file (`@tether/store-sqlite`).
 *
 * @example
 * ```ts
 * import { configFromObject, startHub } from '@tether/hub';
 *
 * const { config } = configFromObject({ port: 8080, store: 'sqlite:./data/tether.db' }, 'app');
 * const hub = await startHub(config, { io: { stdout: console.log, stderr: console.error } });
 * process.on('SIGTERM', () => void hub.close());
 * ```
 *
 * @packageDocumentation
 */

export { WORKER_SLOT_ENV } from './cluster-messages.js';
export {
  CLUSTER_DEFAULTS,
  type HubCluster,
  type HubClusterOptions,
  restartDelayMs,
  startHubCluster,
  workerSlot,
} from './cluster-primary.js';
export type { HubWorker } from './cluster-worker.js';
export {
  CONFIG_FILE,
  ConfigError,
  type ConfigLayer,
  type ConfigSources,
  configFromObject,
  type ResolvedConfig,
  resolveHubConfig,
} from './config.js';
export { HUB_SCHEMA, type HubSettings } from './config-schema.js';
export {
  formatDefault,
  HUB_SETTINGS,
  hubJsonSchema,
  SETTING_BY_KEY,
  type Setting,
} from './config-settings.js';
export {
  type AuthConfig,
  HUB_DEFAULTS,
  type HubConfig,
  type JwtAlgorithm,
  type LogLevel,
  type TopicHistoryRule,
  type TopicPermission,
  type TopicRule,
} from './config-types.js';
export { ApiError, ApiErrorCode, type ApiErrorCodeName } from './http-errors.js';
export { type Hub, type HubIo, type HubOptions, startHub } from './hub.js';
export { clientBundlePath } from './hub-pages.js';
export {
  type CliIo,
  type DeepPartial,
  HEALTH_PATH,
  handleShutdownSignals,
  type ServeHandle,
  type ServeOptions,
  type SignalSource,
  serve,
  WS_PATH,
} from './serve.js';
export { processLines, writeSafely } from './stdio.js';
export { TopicAccess, type TopicClaims, topicMatches } from './topic-access.js';
