import { describe, expect, it } from 'vitest';
import { metricsUrl, sampleSum, usageFromMetrics } from '../src/bench/metrics-usage.js';

const TEXT = `# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.
# TYPE process_cpu_seconds_total counter
process_cpu_seconds_total 12.5
process_cpu_seconds_total_extra 99
# TYPE process_resident_memory_bytes gauge
process_resident_memory_bytes 314572800
nodejs_heap_size_used_bytes 1000
tether_connections{endpoint="/ws"} 40
tether_connections{endpoint="/other"} 2
tether_connections_ready{endpoint="/ws"} 40
`;

describe('tether bench --url: server usage from /metrics', () => {
  it('finds /metrics next to the WebSocket URL', () => {
    expect(metricsUrl('ws://127.0.0.1:8080/ws?x=1')).toBe('http://127.0.0.1:8080/metrics');
    expect(metricsUrl('wss://hub.example.com/ws')).toBe('https://hub.example.com/metrics');
  });

  it('sums every label set of one metric name, and only that name', () => {
    expect(sampleSum(TEXT, 'tether_connections')).toBe(42);
    expect(sampleSum(TEXT, 'process_cpu_seconds_total')).toBe(12.5);
    expect(sampleSum(TEXT, 'absent_metric')).toBeUndefined();
  });

  it('reads CPU, RSS, heap and connections; none without process metrics', () => {
    expect(usageFromMetrics(TEXT, 5)).toEqual({
      atMs: 5,
      cpuMs: 12_500,
      rssBytes: 314_572_800,
      heapUsedBytes: 1000,
      connections: 42,
    });
    expect(usageFromMetrics('tether_connections{endpoint="/ws"} 3\n')).toBeUndefined();
  });
});
