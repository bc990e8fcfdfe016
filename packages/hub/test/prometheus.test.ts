/**
 * The operations surface checked by Prometheus' own tools, not by our reading of the
 * format: `promtool check rules` on the shipped alert rules, `promtool check metrics` on a
 * live hub's /metrics, and a real Prometheus that scrapes a hub (with the ops key, the way
 * docs/operations.md says) and evaluates the shipped alert rules against it. The staged
 * fault: dropped links (clients that vanish without a close, 1006) make
 * TetherAbnormalCloseRate fire; the same number of normal closes before it does not.
 *
 * The rules are loaded as shipped except their `for:` durations (5 to 15 minutes), which
 * the copy in the temp dir shortens to 1 s so the test ends in seconds.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SUBPROTOCOL } from '@tether/protocol';
import { silentLogger } from '@tether/server';
import {
  type PrometheusAlertRule,
  type PrometheusInstance,
  SYSTEM_DEPS,
  startPrometheus,
  systemDepMissing,
  type TempDir,
  tempDir,
  waitFor,
  withTimeout,
} from '@tether/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { parsePrometheus, sampleValue } from '../../server/test/prometheus-text.js';
import { type ServeHandle, serve } from '../src/index.js';

const HOST = '127.0.0.1';
const API_KEY = 'prometheus-test-api-key-0123';
const OPS_KEY = 'prometheus-test-ops-key-0123';
const RULES = fileURLToPath(new URL('../../../ops/prometheus/tether-alerts.yml', import.meta.url));
const ALERT = 'TetherAbnormalCloseRate';
/** Closes per phase: enough for the alert's "closes are frequent" guard (> 0.05/s over 5m). */
const CLOSES = 30;

type Frame = Record<string, unknown>;

const missing = systemDepMissing('prometheus') || systemDepMissing('promtool');

let hub: ServeHandle;
let prometheus: PrometheusInstance | undefined;
let dir: TempDir | undefined;
const sockets = new Set<WebSocket>();

/** A protocol client on the hub's /ws, resolved once welcomed. */
async function client(): Promise<{ ws: WebSocket; frames: Frame[]; closed: Promise<number> }> {
  const ws = new WebSocket(`ws://${HOST}:${hub.port}/ws`, [SUBPROTOCOL]);
  sockets.add(ws);
  const frames: Frame[] = [];
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  void closed.then(() => sockets.delete(ws));
  ws.on('error', () => {});
  ws.on('message', (data) => {
    const parsed = JSON.parse(data.toString()) as Frame | Frame[];
    frames.push(...(Array.isArray(parsed) ? parsed : [parsed]));
  });
  ws.once('open', () => ws.send(JSON.stringify({ t: 'hello', v: 1 })));
  await waitFor(() => frames.some((f) => f.t === 'welcome'), { message: 'welcome' });
  return { ws, frames, closed };
}

/** The hub's /metrics, fetched with the ops key as Prometheus does. */
async function hubMetrics(): Promise<string> {
  const response = await fetch(`${hub.url}/metrics`, {
    headers: { Authorization: `Bearer ${OPS_KEY}` },
  });
  expect(response.status).toBe(200);
  return response.text();
}

/** Closes seen by the hub with `code` (its own count, not Prometheus'). */
async function hubCloses(code: string): Promise<number> {
  return sampleValue(parsePrometheus(await hubMetrics()), 'tether_disconnects_total', {
    endpoint: '/ws',
    code,
  });
}

/** Waits until the hub counted `count` closes with `code`, then until Prometheus scraped them. */
async function untilScraped(code: string, count: number): Promise<void> {
  await waitFor(async () => (await hubCloses(code)) >= count, {
    timeoutMs: 10_000,
    message: `the hub counts ${count} closes with ${code}`,
  });
  const server = prometheus as PrometheusInstance;
  await waitFor(
    async () => {
      const [sample] = await server.query(`tether_disconnects_total{job="tether",code="${code}"}`);
      return sample !== undefined && Number(sample.value[1]) >= count;
    },
    { timeoutMs: 15_000, intervalMs: 200, message: `Prometheus scraped ${count} closes (${code})` },
  );
}

async function alertRule(name: string): Promise<PrometheusAlertRule> {
  const rule = (await (prometheus as PrometheusInstance).alertRules()).find((r) => r.name === name);
  if (rule === undefined) throw new Error(`Prometheus has no alerting rule ${name}`);
  return rule;
}

/** The shipped rules with every `for:` shortened to 1 s; checks the copy with promtool. */
function rulesForTest(path: string): void {
  const shipped = readFileSync(RULES, 'utf8');
  const rules = shipped.match(/^\s*- alert: /gm)?.length ?? 0;
  let shortened = 0;
  const text = shipped.replace(/^(\s+)for: \d+[smh]$/gm, (_line, indent: string) => {
    shortened += 1;
    return `${indent}for: 1s`;
  });
  expect(shortened).toBe(rules);
  writeFileSync(path, text);
  const check = spawnSync(SYSTEM_DEPS.promtool.path, ['check', 'rules', path], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  expect(`${check.stdout}${check.stderr}`).toContain(`SUCCESS: ${rules} rules found`);
}

describe.skipIf(missing)('Prometheus and promtool against a live hub', () => {
  beforeAll(async () => {
    hub = await serve(
      {
        port: 0,
        host: HOST,
        store: 'memory',
        logger: silentLogger,
        // RTTs are observed at each heartbeat: a short interval fills the histogram.
        heartbeat: { intervalMs: 300 },
        api: { key: API_KEY, opsKey: OPS_KEY },
        processMetrics: true,
      },
      { stdout: () => {}, stderr: () => {} },
    );
    dir = await tempDir('tether-prometheus-');
    rulesForTest(join(dir.path, 'tether-alerts.yml'));
    const target = `['${HOST}:${hub.port}']`;
    prometheus = await startPrometheus({
      dir: dir.path,
      config: [
        'global:',
        '  scrape_interval: 1s',
        '  scrape_timeout: 1s',
        '  evaluation_interval: 1s',
        'rule_files: [tether-alerts.yml]',
        'scrape_configs:',
        '  - job_name: tether',
        '    metrics_path: /metrics',
        `    authorization: { credentials: ${OPS_KEY} }`,
        `    static_configs: [{ targets: ${target} }]`,
        // The same target without the key: /metrics must refuse it.
        '  - job_name: tether-without-key',
        `    static_configs: [{ targets: ${target} }]`,
        '',
      ].join('\n'),
    });
  });

  afterAll(async () => {
    for (const ws of sockets) ws.terminate();
    await prometheus?.stop();
    await hub?.close({ drainTimeoutMs: 500 });
    await dir?.cleanup();
  });

  it('promtool check metrics finds no problem in the /metrics of a hub with traffic', async () => {
    // Connections, a subscription, publications through the API (store latency, message
    // counters), heartbeats (RTTs), a normal close: every family has samples.
    const subscriber = await client();
    subscriber.ws.send(JSON.stringify({ t: 'sub', topic: 'demo:prom' }));
    await waitFor(() => subscriber.frames.some((f) => f.t === 'subscribed'), {
      message: 'subscribed',
    });
    for (let i = 1; i <= 3; i += 1) {
      const response = await fetch(`${hub.url}/api/publish`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${API_KEY}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ topic: 'demo:prom', data: i }),
      });
      expect(response.status).toBe(200);
      await response.arrayBuffer();
    }
    await waitFor(() => subscriber.frames.some((f) => f.t === 'pub' && f.offset === 3), {
      message: 'the 3rd publication',
    });
    await waitFor(
      async () =>
        sampleValue(parsePrometheus(await hubMetrics()), 'tether_heartbeat_rtt_seconds_count', {
          endpoint: '/ws',
        }) > 0,
      { timeoutMs: 10_000, message: 'a heartbeat RTT observed' },
    );
    subscriber.ws.close(1000);
    await withTimeout(subscriber.closed, 5000, 'close');

    const refused = await fetch(`${hub.url}/metrics`);
    expect(refused.status).toBe(401);
    await refused.arrayBuffer();
    const text = await hubMetrics();
    // Node's process metrics under their standard names, next to Tether's own.
    for (const name of [
      'process_resident_memory_bytes',
      'process_cpu_seconds_total',
      'process_open_fds',
      'nodejs_heap_size_used_bytes',
      'nodejs_eventloop_lag_seconds',
      'nodejs_gc_duration_seconds',
      'tether_connections',
      'tether_store_operation_duration_seconds',
    ]) {
      expect(text, name).toContain(`# TYPE ${name} `);
    }
    const check = spawnSync(SYSTEM_DEPS.promtool.path, ['check', 'metrics'], {
      input: text,
      encoding: 'utf8',
      timeout: 30_000,
    });
    // promtool prints one line per problem (and exits 3 for lint problems).
    expect(`${check.stdout}${check.stderr}`).toBe('');
    expect(check.status).toBe(0);
  });

  it('a real Prometheus scrapes the hub with the ops key, and is refused without it', async () => {
    const server = prometheus as PrometheusInstance;
    const up = async (job: string) => (await server.query(`up{job="${job}"}`))[0]?.value[1];
    await waitFor(async () => (await up('tether')) === '1' && (await up('tether-without-key')), {
      timeoutMs: 15_000,
      intervalMs: 200,
      message: `both jobs scraped:\n${server.output()}`,
    });
    expect(await up('tether-without-key')).toBe('0');
    const [rss] = await server.query('process_resident_memory_bytes{job="tether"}');
    expect(Number(rss?.value[1])).toBeGreaterThan(0);
    const [lag] = await server.query('nodejs_eventloop_lag_seconds{job="tether"}');
    expect(lag).toBeDefined();
  });

  it(`evaluates the shipped alerts: ${ALERT} fires on dropped links, not on normal closes`, async () => {
    const server = prometheus as PrometheusInstance;
    // Both close-code series must exist before they move: a series that first appears at
    // N has no increase for rate() to see (Prometheus does not assume it started at 0).
    const base1000 = (await hubCloses('1000')) + 1;
    const base1006 = (await hubCloses('1006')) + 1;
    const normal = await client();
    const dropped = await client();
    normal.ws.close(1000);
    dropped.ws.terminate();
    await untilScraped('1000', base1000);
    await untilScraped('1006', base1006);

    // Before the fault: many closes, all normal. The guard of the rule (closes are
    // frequent) holds, the ratio does not: the alert stays inactive, evaluation after
    // evaluation, once Prometheus has the data.
    const leaving = await Promise.all(Array.from({ length: CLOSES }, () => client()));
    for (const c of leaving) c.ws.close(1000);
    await untilScraped('1000', base1000 + CLOSES);
    const scrapedAt = Date.now();
    expect(
      await server.query(
        'sum by (instance) (rate(tether_disconnects_total{job="tether"}[5m])) > 0.05',
      ),
    ).toHaveLength(1);
    const seen = new Set<string>();
    await waitFor(
      async () => {
        const rules = await server.alertRules();
        for (const rule of rules) {
          if (rule.health !== 'ok') seen.add(`${rule.name} ${rule.health}: ${rule.lastError}`);
          if (rule.state !== 'inactive') seen.add(`${rule.name} ${rule.state}`);
        }
        const rule = rules.find((r) => r.name === ALERT);
        // Three evaluations (1 s apart) after Prometheus had the closes.
        return rule !== undefined && Date.parse(rule.lastEvaluation) > scrapedAt + 2500;
      },
      { timeoutMs: 15_000, intervalMs: 200, message: `${ALERT} evaluated after the closes` },
    );
    expect([...seen]).toEqual([]);

    // The fault: as many clients vanish without a close (1006), like links cut by a proxy.
    const vanishing = await Promise.all(Array.from({ length: CLOSES }, () => client()));
    for (const c of vanishing) c.ws.terminate();
    await untilScraped('1006', base1006 + CLOSES);
    const firing = await waitFor(
      async () => {
        const rule = await alertRule(ALERT);
        return rule.state === 'firing' && rule;
      },
      { timeoutMs: 20_000, intervalMs: 200, message: `${ALERT} fires:\n${server.output()}` },
    );
    expect(firing.alerts).toEqual([
      expect.objectContaining({
        state: 'firing',
        labels: expect.objectContaining({
          alertname: ALERT,
          instance: `${HOST}:${hub.port}`,
          severity: 'warning',
        }),
      }),
    ]);
    // Only that one: nothing else in the staged run looks like trouble.
    const others = (await server.alertRules()).filter(
      (r) => r.name !== ALERT && r.state !== 'inactive',
    );
    expect(others.map((r) => `${r.name} ${r.state}`)).toEqual([]);
  });
});
