import type { HubUsage } from './hub.js';

/**
 * The resource use of a server given by URL, read from its Prometheus `/metrics` (Node's
 * process metrics, which `tether serve` exports): with `--workers N` they are summed over
 * the primary and every worker, so CPU and RSS are the whole hub's. A server without them
 * (a library server, a closed `/metrics`) has no usage: the bench says "n/a" as before.
 */

/** `/metrics` of the server whose WebSocket URL is `wsUrl` (same host and port). */
export function metricsUrl(wsUrl: string): string {
  const url = new URL(wsUrl);
  url.protocol = url.protocol === 'wss:' ? 'https:' : 'http:';
  url.pathname = '/metrics';
  url.search = '';
  return url.toString();
}

/** Sum of every sample of `name` (all label sets) in Prometheus text; undefined if absent. */
export function sampleSum(text: string, name: string): number | undefined {
  let total: number | undefined;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== ' ' && rest[0] !== '{') continue;
    const value = Number(rest.slice(rest.lastIndexOf(' ') + 1));
    if (Number.isFinite(value)) total = (total ?? 0) + value;
  }
  return total;
}

/** Usage from one `/metrics` text, stamped with this process's clock; undefined without process metrics. */
export function usageFromMetrics(text: string, atMs = performance.now()): HubUsage | undefined {
  const cpuSeconds = sampleSum(text, 'process_cpu_seconds_total');
  const rssBytes = sampleSum(text, 'process_resident_memory_bytes');
  if (cpuSeconds === undefined || rssBytes === undefined) return undefined;
  return {
    atMs,
    cpuMs: cpuSeconds * 1000,
    rssBytes,
    heapUsedBytes: sampleSum(text, 'nodejs_heap_size_used_bytes') ?? 0,
    connections: sampleSum(text, 'tether_connections') ?? 0,
  };
}

/** Reads the usage of the server at `wsUrl`; undefined when its `/metrics` does not tell. */
export async function fetchUsage(
  wsUrl: string,
  opsKey: string | undefined,
): Promise<HubUsage | undefined> {
  try {
    const response = await fetch(metricsUrl(wsUrl), {
      headers: opsKey === undefined ? {} : { authorization: `Bearer ${opsKey}` },
      signal: AbortSignal.timeout(10_000),
    });
    const text = await response.text();
    return response.ok ? usageFromMetrics(text) : undefined;
  } catch {
    return undefined;
  }
}
