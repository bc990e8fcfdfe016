#!/usr/bin/env node
// A trading feed on Tether: a price server and three Node trading clients. The server is
// restarted gracefully halfway; a fourth client goes silent. Everything a trading bot
// once wrote by hand (health events, stale sweeps, a circuit breaker, a stability
// report) is a Tether call here.
//   node examples/trading-feed/run.mjs [--duration 5s]
import { TetherClient } from '@tether/client';
import { silentLogger, TetherServer } from '@tether/server';
import { WebSocket } from 'ws';

const arg = process.argv.indexOf('--duration');
const durationMs = parseDuration(arg === -1 ? '5s' : process.argv[arg + 1]);
const log = (who, text) =>
  console.log(`${String(Date.now() - t0).padStart(5)} ms  ${who.padEnd(8)} ${text}`);
const t0 = Date.now();

// --- the server: heartbeats of 1 s + 1 s so a silent client is seen within the run.
const serverOptions = { port: 0, host: '127.0.0.1', logger: silentLogger };
const endpointOptions = { heartbeatIntervalMs: 1_000, heartbeatTimeoutMs: 1_000 };
let server = await startServer(0);
const port = server.address().port;
const url = `ws://127.0.0.1:${port}/feed`;
const serverReports = [];

async function startServer(onPort) {
  const tether = new TetherServer({ ...serverOptions, port: onPort });
  tether
    .endpoint('/feed', endpointOptions)
    .on('stale', ({ connection, silentMs, closesInMs }) =>
      log(
        'server',
        `stale ${connection.id}: silent ${Math.round(silentMs)} ms, cut in ${Math.round(closesInMs)} ms`,
      ),
    );
  await tether.listen();
  return tether;
}

// --- the traders: health, recovery and breaker events instead of a stability manager.
const traders = ['alice', 'bob', 'carol'].map((name) => {
  const client = new TetherClient(url, {
    WebSocket,
    minReconnectDelayMs: 100,
    maxReconnectDelayMs: 400,
    breakerThreshold: 2,
    breakerCooldownMs: 300,
  });
  let last;
  client.on('health', (e) =>
    log(name, `health ${e.previous} -> ${e.level} (${e.reasons.join(', ') || 'ok'})`),
  );
  client.on('recovered', (e) =>
    log(
      name,
      `recovered after ${Math.round(e.downtimeMs)} ms (close ${e.closeCode}, ${e.attempts} attempts, ${e.resubscribed} resubscribed)`,
    ),
  );
  client.on('breaker', (e) => e.transition !== 'count' && log(name, `breaker ${e.transition}`));
  client.subscribe('prices:BTC', { last: 1 }).on('pub', (p) => {
    last = p.data;
  });
  return { name, client, price: () => last };
});

// --- a client that says hello and then never answers a ping: the server reports it stale.
const silent = new WebSocket(url, ['tether.v1'], { autoPong: false });
silent.on('open', () => silent.send(JSON.stringify({ t: 'hello', v: 1 })));
silent.on('error', () => {});
const silentCut = new Promise((resolve) => silent.once('close', (code) => resolve(code)));

// --- prices, a graceful restart halfway, then the reports.
let price = 60_000;
const ticker = setInterval(() => {
  price += Math.round((Math.random() - 0.5) * 100);
  server.publish('prices:BTC', price).catch(() => {}); // refused while restarting
}, 50);
await sleep(durationMs / 3);
log('silent', `cut with ${await withDeadline(silentCut, 5_000, 'the silent client was not cut')}`);
log('server', 'graceful restart');
serverReports.push(server.stabilityReport());
// Clients are told to come back after 200-500 ms; the server stays down for a second.
await server.close({ drainTimeoutMs: 500, retryAfterMs: 200, retrySpreadMs: 300 });
await sleep(1_000);
server = await startServer(port);
await sleep(durationMs - (Date.now() - t0));
clearInterval(ticker);

const reports = traders.map(({ name, client, price: p }) => ({
  name,
  price: p(),
  ...client.stabilityReport(),
}));
serverReports.push(server.stabilityReport());
console.log('\nclient stability reports:');
for (const r of reports) {
  console.log(
    `  ${r.name}: ${r.state}, health ${r.health.level}, connects ${r.connects}, drops ${JSON.stringify(r.dropsByCode)}, ` +
      `recoveries ${r.recoveries}, downtime max ${Math.round(r.downtime.maxMs)} ms, breaker opens ${r.breakerOpens}, last price ${r.price}`,
  );
}
const before = serverReports[0].endpoints[0];
console.log('server stability report (before the restart):');
console.log(
  `  connections ${JSON.stringify(serverReports[0].connections)}, health ${JSON.stringify(serverReports[0].health)}`,
);
console.log(`  stale events ${before.staleEvents}, closes ${JSON.stringify(before.closesByCause)}`);
const after = serverReports[1].endpoints[0];
console.log('server stability report (after):');
console.log(
  `  connections ${JSON.stringify(serverReports[1].connections)}, closes ${JSON.stringify(after.closesByCause)}, recoveries ${JSON.stringify(after.recoveries)}`,
);

for (const { client } of traders) await client.close();
silent.terminate();
await server.close({ drainTimeoutMs: 500 });

const ok =
  reports.every((r) => r.recoveries >= 1 && r.state === 'open' && r.price !== undefined) &&
  before.staleEvents >= 1 &&
  (before.closesByCause.heartbeat_timeout ?? 0) >= 1;
console.log(
  ok ? '\nok: every trader recovered; the silent client was reported stale and cut' : '\nFAILED',
);
process.exit(ok ? 0 : 1);

function withDeadline(promise, ms, message) {
  let timer;
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

function parseDuration(text) {
  const match = /^(\d+(?:\.\d+)?)(ms|s)?$/.exec(text ?? '');
  if (!match) {
    console.error(`--duration: expected a duration like 5s or 4000ms, got ${text}`);
    process.exit(2);
  }
  const ms = Number(match[1]) * (match[2] === 'ms' ? 1 : 1000);
  if (ms < 4000) {
    console.error(
      '--duration: at least 4s (the silent client needs 2 s to be cut, the restart 1 s)',
    );
    process.exit(2);
  }
  return ms;
}
