import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SYSTEM_DEPS, systemDepMissing } from '@tether/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { createStore, type TetherServer } from '../src/index.js';
import { instrumentStore, TetherMetrics } from '../src/ops/index.js';
import { RawClient, startTether } from './helpers.js';
import { metricNames, parsePrometheus } from './prometheus-text.js';

/**
 * The files in ops/ (Prometheus alert rules, Grafana dashboard) only use metrics that
 * /metrics really exposes; the rules pass `promtool check rules` (Debian package
 * prometheus, installed by the pretest). packages/cli/test/prometheus.test.ts goes on:
 * promtool on a live /metrics, and a real Prometheus evaluating the rules.
 */

const root = (path: string): string => fileURLToPath(new URL(`../../../${path}`, import.meta.url));
const RULES = root('ops/prometheus/tether-alerts.yml');
const DASHBOARD = root('ops/grafana/tether-dashboard.json');

/** Metric names (tether_*, and Node's standard process_* and nodejs_*) in a PromQL expression. */
function metricsIn(expr: string): string[] {
  return [...expr.matchAll(/\b((?:tether|process|nodejs)_[a-z0-9_]+)\b/g)].map(
    (m) => m[1] as string,
  );
}

let exposed: Set<string>;
let tether: TetherServer;

beforeAll(async () => {
  // Everything a hub exposes: process metrics on, a store instrumented, some traffic.
  let metrics: TetherMetrics | undefined;
  const store = instrumentStore(createStore('memory'), (op, s, ok) =>
    metrics?.observeStore(op, s, ok),
  );
  const started = await startTether({}, { store });
  tether = started.tether;
  metrics = new TetherMetrics(tether, { processMetrics: true });
  const client = await RawClient.connect(started.url);
  client.close();
  metrics.countHttpRequest('/healthz', 200);
  exposed = metricNames(parsePrometheus(await metrics.metrics()));
});

afterAll(async () => {
  await tether.close({ drainTimeoutMs: 200 });
});

describe('ops/prometheus/tether-alerts.yml', () => {
  const text = readFileSync(RULES, 'utf8');
  const parsed = parseYaml(text) as {
    groups: Array<{ name: string; rules: Array<Record<string, unknown>> }>;
  };

  it('is a rule file: groups of alerts with expr, for, severity, summary and description', () => {
    expect(parsed.groups).toHaveLength(1);
    const rules = parsed.groups[0]?.rules ?? [];
    const names = rules.map((r) => r.alert);
    for (const needed of [
      'TetherAbnormalCloseRate',
      'TetherResumeFailures',
      'TetherHeartbeatTimeouts',
      'TetherSlowConsumers',
    ]) {
      expect(names).toContain(needed);
    }
    expect(new Set(names).size).toBe(names.length);
    for (const rule of rules) {
      expect(typeof rule.expr, `${rule.alert}: expr`).toBe('string');
      expect(rule.for, `${rule.alert}: for`).toMatch(/^\d+[smh]$/);
      expect((rule.labels as Record<string, string>).severity).toMatch(/^(info|warning|critical)$/);
      const annotations = rule.annotations as Record<string, string>;
      expect(annotations.summary?.length ?? 0, `${rule.alert}: summary`).toBeGreaterThan(10);
      expect(annotations.description?.length ?? 0, `${rule.alert}: description`).toBeGreaterThan(
        40,
      );
    }
  });

  it('uses only metrics that /metrics exposes', () => {
    const rules = parsed.groups[0]?.rules ?? [];
    const used = rules.flatMap((r) => metricsIn(String(r.expr)));
    expect(used.length).toBeGreaterThan(rules.length - 1);
    expect(used.filter((name) => !exposed.has(name))).toEqual([]);
  });

  // Installed by the pretest (Debian package prometheus); missing under CI=true fails.
  it.skipIf(systemDepMissing('promtool'))('passes promtool check rules', () => {
    const result = spawnSync(SYSTEM_DEPS.promtool.path, ['check', 'rules', RULES], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(`${result.stdout}${result.stderr}`).toContain('SUCCESS');
    expect(result.status).toBe(0);
  });
});

describe('ops/grafana/tether-dashboard.json', () => {
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as {
    uid: string;
    title: string;
    schemaVersion: number;
    __inputs: Array<{ name: string; type: string; pluginId: string }>;
    panels: Array<{
      id: number;
      type: string;
      title: string;
      datasource?: { uid: string };
      gridPos: { x: number; y: number; w: number; h: number };
      targets?: Array<{ expr: string; refId: string }>;
    }>;
  };

  it('is an importable dashboard with a Prometheus data source input', () => {
    expect(dashboard.uid).toBe('tether-overview');
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    expect(dashboard.__inputs).toEqual([
      expect.objectContaining({
        name: 'DS_PROMETHEUS',
        type: 'datasource',
        pluginId: 'prometheus',
      }),
    ]);
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const panel of dashboard.panels) {
      expect(panel.title.length).toBeGreaterThan(0);
      expect(panel.gridPos.x + panel.gridPos.w).toBeLessThanOrEqual(24);
      if (panel.type === 'row') continue;
      // Grafana's placeholder for the data source chosen at import.
      expect(panel.datasource?.uid).toBe(`\${DS_PROMETHEUS}`);
      expect(panel.targets?.length ?? 0).toBeGreaterThan(0);
    }
  });

  it('charts connections, close codes, messages, RTT, resumes, slow consumers and store latency', () => {
    const used = new Set(
      dashboard.panels.flatMap((p) => (p.targets ?? []).flatMap((t) => metricsIn(t.expr))),
    );
    for (const name of [
      'tether_connections',
      'tether_disconnects_total',
      'tether_messages_in_total',
      'tether_messages_out_total',
      'tether_heartbeat_rtt_seconds_bucket',
      'tether_resumes_total',
      'tether_replayed_messages_total',
      'tether_slow_consumer_disconnects_total',
      'tether_rate_limited_total',
      'tether_store_operation_duration_seconds_bucket',
    ]) {
      expect(used.has(name), name).toBe(true);
    }
  });

  it('uses only metrics that /metrics exposes', () => {
    const used = dashboard.panels.flatMap((p) =>
      (p.targets ?? []).flatMap((t) => metricsIn(t.expr)),
    );
    expect(used.filter((name) => !exposed.has(name))).toEqual([]);
  });
});
