#!/usr/bin/env node
// A chat on Tether: a React page (app.jsx, @tether/react) against the hub, the same hub
// `tether serve` runs. Rooms are the topics `chat:<room>`; the page publishes into them
// and joins with the room's last 50 messages from the hub's history.
//   npm run build                          # once: the example uses the built packages
//   node examples/chat/run.mjs [--port 3000] [--hub-port 0] [--store memory]
// then open the printed URL twice, as ?name=alice and as ?name=bob.
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { serve } from '@tether/hub';
import { build } from 'esbuild';

const HOST = '127.0.0.1';

/** The hub's settings, in the shape of tether.config.json (docs/configuration.md). */
const HUB = {
  host: HOST,
  // Authentication off: the hub listens on loopback only, and only this page's origin may
  // connect. Behind a network, give every user a JWT whose `topics` claim lists `chat:*`.
  auth: { mode: 'none' },
  topics: {
    'chat:*': {
      publish: 'authenticated',
      subscribe: 'authenticated',
      history: { maxCount: 200, maxAgeMs: '24h' },
    },
  },
  demo: false,
  log: { level: 'error' },
};

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '3000' },
    'hub-port': { type: 'string', default: '0' },
    store: { type: 'string', default: 'memory' },
  },
});
const port = parsePort('--port', values.port);
const hubPort = parsePort('--hub-port', values['hub-port']);

// The page: app.jsx and React bundled once at start (esbuild, a few hundred ms).
const bundle = await build({
  entryPoints: [fileURLToPath(new URL('./app.jsx', import.meta.url))],
  bundle: true,
  write: false,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  jsx: 'automatic',
  minify: true,
  define: { 'process.env.NODE_ENV': '"production"' },
  logLevel: 'warning',
});
const appJs = bundle.outputFiles[0].text;

let hubUrl = '';
const web = createServer((req, res) => {
  const path = new URL(req.url ?? '/', 'http://x').pathname;
  if (path === '/app.js') {
    res.writeHead(200, { 'Content-Type': 'text/javascript; charset=utf-8' }).end(appJs);
  } else if (path === '/') {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(page(hubUrl));
  } else {
    res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
  }
});
await new Promise((resolve, reject) => {
  web.once('error', reject);
  web.listen(port, HOST, resolve);
});
const webPort = web.address().port;

// The hub accepts browsers from this page only (both spellings of loopback).
const origins = [`http://${HOST}:${webPort}`, `http://localhost:${webPort}`];
const io = { stdout: (line) => console.log(`  ${line}`), stderr: (line) => console.error(line) };
const hub = await serve({ ...HUB, port: hubPort, store: values.store, origins }, io);
hubUrl = `ws://${HOST}:${hub.port}/ws`;

console.log(`chat: http://${HOST}:${webPort}/?room=lobby&name=alice`);
console.log(`hub: ${hubUrl}`);

let closing = false;
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, async () => {
    if (closing) process.exit(1); // a second Ctrl-C: do not wait for the drain
    closing = true;
    await hub.close({ drainTimeoutMs: 1000 });
    web.close(() => process.exit(0));
  });
}

function page(url) {
  return `<!doctype html>
<html lang="en">
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Tether chat</title>
<style>
  body { font: 16px/1.4 system-ui, sans-serif; max-width: 40rem; margin: 2rem auto; padding: 0 1rem; }
  h1 { margin: 0; } header p { color: #666; margin: .25rem 0 1rem; }
  ol { list-style: none; padding: 0; } li { padding: .25rem 0; } li.mine b { color: #06c; }
  form { display: flex; gap: .5rem; } input { flex: 1; padding: .5rem; } .note { color: #a60; }
</style>
<div id="root" data-hub="${url}"></div>
<script type="module" src="/app.js"></script>
</html>`;
}

function parsePort(flag, text) {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n > 65_535) {
    console.error(`${flag}: expected a port number (0-65535; 0 picks a free one), got ${text}`);
    process.exit(2);
  }
  return n;
}
