// The processes of `npm run bench:cluster`: a redis-server without persistence on a free
// loopback port, `tether serve --store redis://...` hubs (built CLI), and the CPU time of a
// process tree read from /proc (a hub with --workers N is a primary and its workers).
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

const HOST = '127.0.0.1';
const TETHER_BIN = fileURLToPath(new URL('../packages/cli/bin/tether.js', import.meta.url));
const LISTENING = /tether listening on (http:\/\/\S+)/;
const OUTPUT_KEEP = 16 * 1024;
const START_TIMEOUT_MS = 20_000;

/** A free TCP port on loopback (closed again before use: a race another start retries). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, HOST, () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Resolves with `what()` once it is truthy, polling every 20 ms; rejects after `ms`. */
async function until(what, ms, label) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await what();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`${label}: not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function ping(port) {
  return new Promise((resolve) => {
    const socket = connect({ host: HOST, port });
    let reply = '';
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk;
      if (reply.includes('\r\n')) {
        socket.destroy();
        resolve(reply.startsWith('+PONG'));
      }
    });
    socket.on('error', () => resolve(false));
  });
}

/** Stops a child: SIGTERM, then SIGKILL after `graceMs`; resolves once it exited. */
function stopChild(child, graceMs = 5_000) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** `redis-server --version`, e.g. `7.0.15`; undefined when it is not installed. */
export function redisVersion() {
  const out = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  return /v=(\S+)/.exec(out.stdout ?? '')?.[1];
}

/** redis-server on a free loopback port, no persistence (`--save '' --appendonly no`). */
export async function startRedis() {
  const port = await freePort();
  // biome-ignore format: flag/value pairs read better side by side
  const child = spawn('redis-server', [
    '--port', String(port), '--bind', HOST, '--save', '', '--appendonly', 'no',
    '--daemonize', 'no', '--loglevel', 'warning',
  ], { stdio: 'ignore' });
  const exited = new Promise((_, reject) =>
    child.once('exit', (code) => reject(new Error(`redis-server exited (${code})`))),
  );
  exited.catch(() => {});
  await Promise.race([until(() => ping(port), START_TIMEOUT_MS, 'redis-server PING'), exited]);
  return { url: `redis://${HOST}:${port}`, pid: child.pid, stop: () => stopChild(child) };
}

/** Whether this tree's `tether serve` has `--workers` (another branch adds it). */
export function serveHasWorkers() {
  const out = spawnSync(process.execPath, [TETHER_BIN, 'serve', '--help'], { encoding: 'utf8' });
  return /--workers\b/.test(`${out.stdout}${out.stderr}`);
}

/**
 * `tether serve` on a free port with the Redis store; resolves once it listens.
 * `workers` adds `--workers N`. Per-IP caps are lifted: every load connection is loopback.
 */
export async function startHub({ redisUrl, apiKey, workers }) {
  const args = ['serve', '--port', '0', '--host', HOST, '--insecure', '--store', `${redisUrl}/0`];
  if (workers !== undefined) args.push('--workers', String(workers));
  const child = spawn(process.execPath, [TETHER_BIN, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      TETHER_API_KEY: apiKey,
      TETHER_LOG_LEVEL: 'warn',
      TETHER_DASHBOARD: 'false',
      TETHER_DEMO: 'false',
      TETHER_MAX_CONNECTIONS_PER_IP: '1000000',
    },
  });
  let output = '';
  const keep = (chunk) => {
    output = (output + chunk).slice(-OUTPUT_KEEP);
  };
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', keep);
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`tether serve did not listen within ${START_TIMEOUT_MS} ms: ${output}`));
    }, START_TIMEOUT_MS);
    child.stdout.on('data', (chunk) => {
      keep(chunk);
      const match = LISTENING.exec(output);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`tether serve exited before listening (${code ?? signal}): ${output}`));
    });
  });
  return {
    url,
    wsUrl: `${url.replace(/^http/, 'ws')}/ws`,
    pid: child.pid,
    get output() {
      return output;
    },
    stop: () => stopChild(child, 10_000),
  };
}

const TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100;

/** pid -> { ppid, cpuSeconds } of every process, from /proc; undefined off Linux. */
function processTable() {
  let entries;
  try {
    entries = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return undefined;
  }
  const table = new Map();
  for (const name of entries) {
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // Fields after the command name (which may hold spaces and parentheses).
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const cpu = (Number(fields[11]) + Number(fields[12])) / TICKS;
      table.set(Number(name), { ppid: Number(fields[1]), cpuSeconds: cpu });
    } catch {
      // Exited meanwhile.
    }
  }
  return table;
}

/**
 * User + system CPU seconds of each root and its live descendants, summed; `NaN` where
 * /proc cannot be read.
 */
export function treeCpuSeconds(roots) {
  const table = processTable();
  if (table === undefined) return Number.NaN;
  const children = new Map();
  for (const [pid, { ppid }] of table) children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  let total = 0;
  const todo = [...roots];
  const seen = new Set();
  while (todo.length > 0) {
    const pid = todo.pop();
    if (seen.has(pid)) continue;
    seen.add(pid);
    total += table.get(pid)?.cpuSeconds ?? 0;
    todo.push(...(children.get(pid) ?? []));
  }
  return total;
}
