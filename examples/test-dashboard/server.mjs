// A test-automation dashboard: an existing Express app gains two Tether endpoints on its
// own HTTP server, /ws/runs (test-run events) and /ws/logs (log lines). Its own routes
// publish; a client that connects gets the last 10 events, then every new one.
//   npm run build && PORT=3000 node examples/test-dashboard/server.mjs
import { fileURLToPath } from 'node:url';
import { TetherServer } from '@tether/server';
import express from 'express';

/** Events a client gets on connecting (the topic replay `last: 10`). */
const LAST_EVENTS = 10;
const STATUSES = ['started', 'passed', 'failed', 'skipped', 'finished'];

// ---- The existing app: plain Express, nothing of Tether yet. ----
const app = express();
app.use(express.json({ limit: '64kb' }));
/** Runs by id: counts by status (in memory, for the example). */
const runs = new Map();

app.get('/health', (_req, res) => res.json({ ok: true }));
app.get('/runs', (_req, res) => res.json(Object.fromEntries(runs)));
app.get('/', (_req, res) => res.type('html').send(PAGE));
// The browser build of the Tether client, for the page.
app.get('/tether-client.js', (_req, res) =>
  res.sendFile(fileURLToPath(import.meta.resolve('@tether/client/browser'))),
);

// A test runner reports here: { test, status, message? }.
app.post('/runs/:id/event', async (req, res, next) => {
  const { test, status, message } = req.body ?? {};
  if (typeof test !== 'string' || test === '' || !STATUSES.includes(status)) {
    return res.status(400).json({
      error: `expected { test: string, status: ${STATUSES.join(' | ')}, message?: string }`,
    });
  }
  const run = runs.get(req.params.id) ?? { events: 0 };
  run.events += 1;
  run[status] = (run[status] ?? 0) + 1;
  runs.set(req.params.id, run);
  const event = { run: req.params.id, test, status, message, at: new Date().toISOString() };
  // Tether: stored in the topic's history, then sent to every subscriber, in order.
  await tether.publish('runs', event).then((position) => res.status(201).json(position), next);
});

// Log lines of a run: { line }.
app.post('/runs/:id/log', async (req, res, next) => {
  const { line } = req.body ?? {};
  if (typeof line !== 'string') return res.status(400).json({ error: 'expected { line: string }' });
  await tether
    .publish('logs', { run: req.params.id, line })
    .then((position) => res.status(201).json(position), next);
});

const port = Number(process.env.PORT ?? 3000);
const host = process.env.HOST ?? '127.0.0.1';
const server = app.listen(port, host, () => {
  console.log(`test dashboard: http://${host}:${server.address().port}/`);
});

// ---- What Tether adds: two endpoints on the same server, routed by path. ----
// Every upgrade request goes through one listener Tether adds to `server`; Express's
// routes are untouched. Each endpoint serves one topic; browsers only from this origin.
const tether = new TetherServer({ server });
const sameOrigin = (origin, request) =>
  origin === undefined || origin === `http://${request.headers.host}`;
for (const [path, topic] of [
  ['/ws/runs', 'runs'],
  ['/ws/logs', 'logs'],
]) {
  tether.endpoint(path, {
    origins: sameOrigin,
    authorizeSubscribe: (context) =>
      context.topic === topic || { refuse: `${path} serves the topic ${topic}` },
  });
}

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, async () => {
    await tether.close({ drainTimeoutMs: 1000 }); // WebSocket clients first
    server.close(() => process.exit(0));
  });
}

// The page: the last 10 events of each endpoint, then live ones, newest on top.
const PAGE = `<!doctype html>
<html lang="en">
<meta charset="utf-8">
<title>Test runs</title>
<style>
  body { font: 15px/1.4 system-ui, sans-serif; margin: 2rem; display: flex; gap: 2rem; }
  section { flex: 1; } ol { list-style: none; padding: 0; } li { padding: .15rem 0; }
  .passed { color: #080; } .failed { color: #c00; } small { color: #888; }
</style>
<section><h2>Events <small id="runs-state"></small></h2><ol id="runs"></ol></section>
<section><h2>Logs <small id="logs-state"></small></h2><ol id="logs"></ol></section>
<script type="module">
  import { TetherClient } from '/tether-client.js';
  const base = location.origin.replace(/^http/, 'ws');
  for (const [path, topic, show] of [
    ['/ws/runs', 'runs', (e) => e.run + ' ' + e.test + ': ' + e.status + (e.message ? ' (' + e.message + ')' : '')],
    ['/ws/logs', 'logs', (e) => e.run + ' | ' + e.line],
  ]) {
    const client = new TetherClient(base + path);
    client.on('state', ({ to }) => (document.getElementById(topic + '-state').textContent = to));
    client.subscribe(topic, { last: ${LAST_EVENTS} }).on('pub', ({ data }) => {
      const li = document.createElement('li');
      li.textContent = show(data);
      li.className = data.status ?? '';
      document.getElementById(topic).prepend(li);
    });
  }
</script>
</html>`;
