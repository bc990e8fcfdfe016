#!/usr/bin/env node
// How often does a reliable message's handler run twice when the server is SIGKILLed?
// guarantees.md ("Processed once") names the window: the handler finished, and the new
// inSeq is not committed yet. This measures it instead of guessing. Per run: one client
// sends reliable messages at a steady rate, the server is SIGKILLed at a random moment
// (0.5-1.5 s in), restarted on the same port and SQLite file, the client resumes and
// sends until everything is acked; then the side effects tell how many (session, seq)
// ran twice, and that none was lost. Two targets:
//   --target hub     `tether serve --store sqlite:...` forwarding to a backend (this
//                    script) that counts each Idempotency-Key it answered 2xx;
//   --target server  @tether/server + SqliteStore, the handler appending to a file.
//   npm run build && node scripts/measure-handler-twice.mjs [--target hub] [--runs 20] [--rate 100] [--json]
import { fork, spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

if (process.argv[2] === '--child') {
  // The server: SQLite store in the given file, the handler's side effect in the log file.
  const [, , , dbPath, logPath, port] = process.argv;
  const { silentLogger, TetherServer } = await import('@tether/server');
  const { SqliteStore } = await import('@tether/store-sqlite');
  const tether = new TetherServer({
    port: Number(port),
    host: '127.0.0.1',
    logger: silentLogger,
    store: new SqliteStore({ path: dbPath }),
  });
  tether.endpoint('/ws', { rateLimit: false }).onMessage((_data, { connection, seq }) => {
    appendFileSync(logPath, `${connection.sessionId} ${seq}\n`);
  });
  const address = await tether.listen();
  process.send?.({ port: address.port });
} else {
  await measure();
}

async function measure() {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '20' },
      rate: { type: 'string', default: '100' }, // messages per second, steady (at most 1000)
      target: { type: 'string', default: 'hub' },
      json: { type: 'boolean', default: false },
    },
  });
  const runs = Number(values.runs);
  const rate = Number(values.rate);
  const { TetherClient } = await import('@tether/client');
  const { WebSocket } = await import('ws');
  const results = [];
  for (let run = 1; run <= runs; run += 1) {
    const dir = mkdtempSync(join(tmpdir(), 'tether-twice-'));
    const db = join(dir, 'tether.db');
    const log = join(dir, 'handled.log');
    appendFileSync(log, '');
    const start = values.target === 'hub' ? startHub : startServer;
    const backend = values.target === 'hub' ? await startBackend(log) : undefined;
    let server = await start(db, log, values.target === 'hub' ? await freePort() : 0, backend);
    const port = server.port;
    const client = new TetherClient(`ws://127.0.0.1:${port}/ws`, {
      WebSocket,
      minReconnectDelayMs: 20,
      maxReconnectDelayMs: 100,
      breakerThreshold: 1000, // the restart takes a while: keep knocking
    });
    await client.connect();
    const sends = [];
    // One tick a millisecond at most (timers are not finer): several messages per tick above 1000/s.
    const tickMs = Math.max(1, 1000 / rate);
    const perTick = Math.round((rate * tickMs) / 1000);
    const sender = setInterval(() => {
      for (let i = 0; i < perTick; i += 1) sends.push(client.send({ n: sends.length + 1 }));
    }, tickMs);
    // Kill at a random moment of steady traffic: 0.5 to 1.5 s in.
    await delay(500 + Math.random() * 1000);
    server.child.kill('SIGKILL');
    await new Promise((resolve) => server.child.once('exit', resolve));
    const sentAtKill = sends.length;
    server = await start(db, log, port, backend);
    await delay(300); // traffic goes on after the restart, as it would
    clearInterval(sender);
    const settled = Promise.allSettled(sends);
    const stuck = setTimeout(
      () => console.error(`run ${run}: stuck`, client.state, client.stats?.()),
      10_000,
    );
    const outcomes = await settled;
    clearTimeout(stuck);
    const failed = outcomes.filter((o) => o.status === 'rejected');
    if (failed.length > 0)
      throw new Error(`run ${run}: ${failed.length} sends failed: ${failed[0].reason}`);
    await client.close();
    server.child.kill('SIGKILL');
    backend?.close();
    const counts = new Map();
    for (const line of readFileSync(log, 'utf8').split('\n').filter(Boolean)) {
      counts.set(line, (counts.get(line) ?? 0) + 1);
    }
    const twice = [...counts.values()].filter((c) => c > 1).length;
    const sessionSeqs = [...counts.keys()].map((k) => Number(k.split(/[ :]/).at(-1)));
    const lost = sends.length - new Set(sessionSeqs).size;
    results.push({ run, sent: sends.length, sentAtKill, twice, lost });
    if (!values.json)
      console.log(
        `run ${run}: sent ${sends.length}, killed after ${sentAtKill}, ran twice ${twice}, lost ${lost}`,
      );
    rmSync(dir, { recursive: true, force: true });
  }
  const hit = results.filter((r) => r.twice > 0).length;
  const summary = {
    target: values.target,
    runs,
    rate,
    runsWithDoubleRun: hit,
    messagesRunTwice: results.reduce((s, r) => s + r.twice, 0),
    maxTwiceInOneRun: Math.max(...results.map((r) => r.twice)),
    lost: results.reduce((s, r) => s + r.lost, 0),
    results,
  };
  console.log(
    values.json
      ? JSON.stringify(summary)
      : `${hit} of ${runs} SIGKILLs of the ${values.target} at ${rate} msg/s made a handler run twice (${summary.messagesRunTwice} messages in all, at most ${summary.maxTwiceInOneRun} in one run); lost: ${summary.lost}`,
  );
}

function startServer(db, log, port) {
  const child = fork(new URL(import.meta.url).pathname, ['--child', db, log, String(port)], {
    stdio: 'inherit',
  });
  return new Promise((resolve, reject) => {
    child.once('message', (m) => resolve({ child, port: m.port }));
    child.once('exit', (code) => reject(new Error(`the server exited (${code}) before listening`)));
  });
}
/** The hub, insecure on loopback, forwarding messages to the backend below. */
async function startHub(db, _log, port, backend) {
  const args = ['serve', '--insecure', '--port', String(port), '--store', `sqlite:${db}`];
  args.push('--backend-url', backend.url, '--log-level', 'warn');
  const cli = new URL('../packages/cli/bin/tether.js', import.meta.url).pathname;
  const child = spawn(process.execPath, [cli, ...args], { stdio: 'ignore' });
  const deadline = Date.now() + 30_000;
  while (
    !(await fetch(`http://127.0.0.1:${port}/healthz`).then(
      (r) => r.ok,
      () => false,
    ))
  ) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error('the hub did not start');
    await delay(20);
  }
  return { child, port };
}
/** The application's backend: its side effect is the Idempotency-Key it answered 2xx, logged. */
function startBackend(log) {
  const server = createServer((req, res) => {
    req.resume().on('end', () => {
      appendFileSync(log, `${req.headers['idempotency-key']}\n`);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ url: `http://127.0.0.1:${server.address().port}`, close: () => server.close() }),
    ),
  );
}
function freePort() {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}
function delay(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
