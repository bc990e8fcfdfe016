/**
 * Operations: Prometheus metrics (a registry per server), the `/stats` sampler behind
 * the dashboard, the health/readiness/stats/metrics HTTP handlers, and store timing.
 */

export { apiKeyMatches, requestApiKey } from './api-key.js';
export { OPS_DEFAULTS } from './defaults.js';
export { TetherMetrics, type TetherMetricsOptions, UNMATCHED_ROUTE } from './metrics.js';
export {
  checkReadiness,
  createOpsHandler,
  type OpsHandlerOptions,
  type OpsPaths,
  type OpsRequestHandler,
  type ReadinessCheck,
  sendJson,
} from './ops-handler.js';
export type { RttPercentiles } from './rtt-window.js';
export type {
  ConnectionHealth,
  ConnectionRow,
  RecentError,
  StatsPoint,
  StatsRates,
  StatsReport,
  StatsTotals,
} from './stats-report.js';
export {
  type StatsReportOptions,
  StatsSampler,
  type StatsSamplerOptions,
} from './stats-sampler.js';
export { instrumentStore, type StoreObserver } from './store-timing.js';
