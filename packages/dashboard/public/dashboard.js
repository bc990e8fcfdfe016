// The Tether dashboard: polls the stats endpoint (once a second by default), keeps the
// time series the server sends (asking only for points it lacks with ?since=), and
// redraws tiles, charts and tables. No framework, no build step.

import { createChart, formatNumber } from './charts.js';

const body = document.body;
const settings = {
  base: body.dataset.base,
  statsUrl: body.dataset.statsUrl,
  pollMs: Number(body.dataset.pollMs) || 1000,
  uplot: body.dataset.uplot === '1',
};
// An operations key, when the hub protects /stats: open the dashboard as /dashboard#key=KEY
// (the fragment never leaves the browser).
const key = new URLSearchParams(location.hash.slice(1)).get('key');

const MAX_POINTS = 300;
const CLOSE_COLORS = [
  '#f85149',
  '#d29922',
  '#a371f7',
  '#58a6ff',
  '#3fb950',
  '#db61a2',
  '#79c0ff',
  '#e3b341',
];
const HEALTH_LABEL = {
  ok: 'ok',
  connecting: 'connecting',
  degraded: 'degraded',
  stale: 'stale',
  closing: 'closing',
};
const NORMAL_CODES = new Set([1000, 1001, 1012, 4010]);

const $ = (id) => document.getElementById(id);
let points = [];
let charts;

async function loadUplot() {
  if (!settings.uplot) return undefined;
  try {
    const module = await import(`${settings.base}/vendor/uPlot.esm.js`);
    return module.default;
  } catch {
    return undefined;
  }
}

async function start() {
  const uPlot = await loadUplot();
  const ms = (v) => `${formatNumber(v)}`;
  charts = {
    connections: createChart($('chart-connections'), {}, uPlot),
    rates: createChart($('chart-rates'), {}, uPlot),
    rtt: createChart($('chart-rtt'), { format: ms }, uPlot),
    closes: createChart($('chart-closes'), {}, uPlot),
    resumes: createChart($('chart-resumes'), {}, uPlot),
  };
  $('footer').textContent =
    `Polling ${settings.statsUrl} every ${settings.pollMs} ms · charts: ${uPlot ? 'uPlot' : 'unavailable (uPlot did not load)'}`;
  poll();
}

async function poll() {
  const started = performance.now();
  try {
    const since = points.length > 0 ? points[points.length - 1].t : undefined;
    const url = new URL(settings.statsUrl, location.href);
    url.searchParams.set('connections', '100');
    if (since !== undefined) url.searchParams.set('since', String(since));
    const response = await fetch(url, {
      cache: 'no-store',
      headers: key ? { Authorization: `Bearer ${key}` } : {},
    });
    if (!response.ok) throw new Error(`${response.status} ${response.statusText}`);
    const report = await response.json();
    render(report);
  } catch (err) {
    setBadge('down', `unreachable: ${err.message}`);
  }
  const elapsed = performance.now() - started;
  setTimeout(poll, Math.max(0, settings.pollMs - elapsed));
}

function setBadge(kind, text) {
  const badge = $('state');
  badge.className = `badge ${kind}`;
  badge.textContent = text;
}

function render(report) {
  setBadge(report.state === 'running' ? 'running' : 'draining', report.state);
  $('uptime').textContent = `up ${formatDuration(report.uptimeMs)}`;
  $('updated').textContent =
    `updated ${new Date(report.time).toLocaleTimeString([], { hour12: false })}`;

  // Time series: append what is new, keep the last MAX_POINTS.
  for (const point of report.history) {
    if (points.length === 0 || point.t > points[points.length - 1].t) points.push(point);
  }
  if (points.length > MAX_POINTS) points = points.slice(points.length - MAX_POINTS);

  renderTiles(report);
  renderCharts();
  renderConnections(report);
  renderErrors(report.errors);
  renderCloseCodes(report.closeCodes);
  renderTopIps(report.topIps);
}

function renderTiles(report) {
  const c = report.connections;
  $('connections').textContent = String(c.total);
  $('connections-sub').textContent =
    c.byEndpoint.map((e) => `${e.path}: ${e.connections}`).join(' · ') || 'no endpoint';
  $('rate-in').textContent = formatNumber(report.rates.messagesIn);
  $('total-in').textContent = `${formatNumber(report.totals.messagesIn)} total`;
  $('rate-out').textContent = formatNumber(report.rates.messagesOut);
  $('total-out').textContent = `${formatNumber(report.totals.messagesOut)} total`;
  const w = report.rtt.window;
  const cur = report.rtt.current;
  const r = w.count > 0 ? w : cur;
  $('rtt').textContent =
    r.count > 0 ? `${formatNumber(r.p50)} / ${formatNumber(r.p90)} / ${formatNumber(r.p99)}` : '–';
  $('rtt-sub').textContent =
    r.count > 0 ? `ms · max ${formatNumber(r.max)} · ${r.count} samples` : 'no measurement yet';
  const failed = Object.values(report.resumes.failed).reduce((a, b) => a + b, 0);
  $('resumes').textContent = `${report.resumes.ok} / ${failed}`;
  $('resumes-sub').textContent = Object.entries(report.resumes.failed)
    .map(([k, v]) => `${k}: ${v}`)
    .join(' · ');
  const abnormal = report.closeCodes
    .filter((c) => !NORMAL_CODES.has(c.code))
    .reduce((a, c) => a + c.count, 0);
  $('abnormal').textContent = String(abnormal);
  $('abnormal-sub').textContent =
    `${report.totals.heartbeatTimeouts} heartbeat timeouts · ${report.totals.slowConsumers} slow consumers`;
  renderBackend(report.backend);
}

/** The hub's backend gateway (docs/backend.md), when the report has one. */
function renderBackend(backend) {
  $('backend-tile').hidden = backend === undefined;
  if (backend === undefined) return;
  $('backend').textContent = backend.state;
  $('backend').className = `value ${backend.state === 'ok' ? '' : 'warn'}`;
  const calls = backend.calls;
  $('backend-sub').textContent = [
    `${backend.messagesWaiting} waiting`,
    `${backend.retries} retries`,
    `${calls.ok} ok · ${calls.rejected} 4xx · ${calls.failed + calls.timeout + calls.unreachable} failed`,
    backend.lastError ?? '',
  ]
    .filter((part) => part !== '')
    .join(' · ');
}

function renderCharts() {
  const xs = points.map((p) => p.t / 1000);
  charts.connections.update(xs, [
    { label: 'connections', color: '#58a6ff', values: points.map((p) => p.connections) },
  ]);
  charts.rates.update(xs, [
    { label: 'in', color: '#3fb950', values: points.map((p) => p.messagesIn) },
    { label: 'out', color: '#58a6ff', values: points.map((p) => p.messagesOut) },
  ]);
  charts.rtt.update(xs, [
    { label: 'p50', color: '#3fb950', values: points.map((p) => p.rttP50) },
    { label: 'p90', color: '#d29922', values: points.map((p) => p.rttP90) },
    { label: 'p99', color: '#f85149', values: points.map((p) => p.rttP99) },
  ]);
  const codes = [...new Set(points.flatMap((p) => Object.keys(p.closes)))].sort();
  charts.closes.update(
    xs,
    codes.length === 0
      ? [{ label: 'closes', color: '#7d8a98', values: points.map(() => 0) }]
      : codes.map((code, i) => ({
          label: code,
          color: CLOSE_COLORS[i % CLOSE_COLORS.length],
          values: points.map((p) => p.closes[code] ?? 0),
        })),
  );
  charts.resumes.update(xs, [
    { label: 'ok', color: '#3fb950', values: points.map((p) => p.resumesOk) },
    { label: 'failed', color: '#f85149', values: points.map((p) => p.resumesFailed) },
  ]);
}

function cell(row, text, className) {
  const td = document.createElement('td');
  td.textContent = text;
  if (className) td.className = className;
  row.appendChild(td);
  return td;
}

function renderConnections(report) {
  const tbody = $('connection-table').querySelector('tbody');
  const rows = report.connectionList.map((c) => {
    const tr = document.createElement('tr');
    tr.dataset.id = c.id;
    const health = document.createElement('span');
    health.className = `health ${c.health}`;
    health.textContent = HEALTH_LABEL[c.health] ?? c.health;
    if (c.healthReason) health.title = c.healthReason;
    cell(tr, '').appendChild(health);
    cell(tr, c.id);
    cell(tr, c.path);
    cell(tr, c.ip);
    cell(tr, c.user ?? '–');
    cell(tr, c.client ?? '–');
    cell(tr, c.rttMs === null ? '–' : `${formatNumber(c.rttMs)} ms`, 'num');
    cell(tr, formatDuration(c.silentMs), 'num');
    cell(tr, formatNumber(c.messagesIn), 'num');
    cell(tr, formatNumber(c.messagesOut), 'num');
    cell(tr, String(c.errors), 'num');
    return tr;
  });
  tbody.replaceChildren(...rows);
  $('connections-note').textContent = report.connectionListTruncated
    ? `(the ${report.connectionList.length} least healthy of ${report.connections.total})`
    : `(${report.connectionList.length})`;
}

function renderErrors(errors) {
  const list = $('errors');
  if (errors.length === 0) {
    const li = document.createElement('li');
    li.className = 'muted';
    li.textContent = 'none';
    list.replaceChildren(li);
    return;
  }
  list.replaceChildren(
    ...errors.slice(0, 30).map((e) => {
      const li = document.createElement('li');
      const when = document.createElement('span');
      when.className = 'when';
      when.textContent = new Date(e.at).toLocaleTimeString([], { hour12: false });
      const kind = document.createElement('span');
      kind.className = 'kind';
      kind.textContent = e.code === undefined ? e.kind : `${e.kind} ${e.code}`;
      const text = document.createElement('span');
      const who = [e.user, e.ip, e.connection].filter(Boolean).join(' · ');
      text.textContent = who ? `${e.message} — ${who}` : e.message;
      li.append(when, kind, text);
      return li;
    }),
  );
}

function renderCloseCodes(closeCodes) {
  const tbody = $('close-codes').querySelector('tbody');
  tbody.replaceChildren(
    ...closeCodes.map((c) => {
      const tr = document.createElement('tr');
      cell(tr, String(c.code));
      cell(tr, c.name);
      cell(tr, String(c.count), 'num');
      return tr;
    }),
  );
}

function renderTopIps(topIps) {
  const tbody = $('top-ips').querySelector('tbody');
  tbody.replaceChildren(
    ...topIps.map((entry) => {
      const tr = document.createElement('tr');
      cell(tr, entry.ip);
      cell(tr, String(entry.connections), 'num');
      return tr;
    }),
  );
}

function formatDuration(ms) {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} m ${s % 60} s`;
  const h = Math.floor(m / 60);
  return `${h} h ${m % 60} m`;
}

start();
