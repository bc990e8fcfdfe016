import { collectDefaultMetrics, type Registry } from 'prom-client';

/**
 * prom-client's gauges that end in `_total` (`promtool check metrics`: "non-counter
 * metrics should not have _total suffix"). Each is the sum of a per-type gauge exported
 * next to it (`sum(nodejs_active_handles)`), so dropping them loses nothing.
 */
const TOTAL_NAMED_GAUGES = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
] as const;

/** prom-client's default metrics, unprefixed, in `registry` (never the global one). */
export function registerProcessMetrics(registry: Registry): void {
  collectDefaultMetrics({ register: registry });
  for (const name of TOTAL_NAMED_GAUGES) registry.removeSingleMetric(name);
}
