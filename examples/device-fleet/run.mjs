#!/usr/bin/env node
// A device fleet on Tether: Python devices send numbered readings through the hub to a
// FastAPI backend, which stores them, sends commands back and publishes fleet settings.
// Halfway the devices' network drops (a TCP reset of every connection, through a fault
// proxy); they resume and nothing is lost or stored twice.
//   node examples/device-fleet/run.mjs [--devices 5] [--readings 200] [--python .venv/bin/python]
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createFaultProxy } from '@tether/fault-proxy';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '../..');
const { values: opts } = parseArgs({
  options: {
    devices: { type: 'string', default: '5' },
    readings: { type: 'string', default: '200' },
    python: { type: 'string', default: join(HERE, '.venv/bin/python') }, // runs uvicorn
    'device-python': { type: 'string', default: '/usr/bin/python3' }, // needs websockets
  },
});
opts.python = resolve(opts.python);
const DEVICES = Number(opts.devices);
const READINGS = Number(opts.readings);
if (!existsSync(opts.python)) {
  console.error(
    `no ${opts.python}: python3 -m venv ${HERE}/.venv && ${HERE}/.venv/bin/pip install -r ${HERE}/requirements.txt`,
  );
  process.exit(2);
}
// The backend checks the hub's signature; the hub checks the backend's API key.
const keys = {
  TETHER_BACKEND_SECRET: 'fleet-backend-secret-of-32-characters!',
  TETHER_API_KEY: 'fleet-api-key-0123456789',
};
const [hubPort, backendPort] = [await freePort(), await freePort()];
const hubUrl = `http://127.0.0.1:${hubPort}`;
const backendUrl = `http://127.0.0.1:${backendPort}`;
const t0 = Date.now();
const log = (who, text) =>
  console.log(`${String(Date.now() - t0).padStart(6)} ms  ${who.padEnd(8)} ${text}`);
const children = [];
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

function start(name, command, args, env = {}, cwd = ROOT) {
  const child = spawn(command, args, {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let tail = '';
  child.stderr.on('data', (chunk) => {
    tail = (tail + chunk).slice(-4000);
  });
  child.once('exit', (code, signal) => {
    if (code !== 0 && !stopping) log(name, `exited ${code ?? signal}: ${tail}`);
  });
  return child;
}
let stopping = false;

// --- the backend (FastAPI) and the hub, which forwards devices' connects, messages and requests to it.
const uvicorn = `-m uvicorn backend:app --host 127.0.0.1 --port ${backendPort} --log-level warning`;
start('backend', opts.python, uvicorn.split(' '), { TETHER_HUB_URL: hubUrl, ...keys }, HERE);
const serve = `packages/cli/bin/tether.js serve --port ${hubPort} --log-level warn --config`;
start('hub', process.execPath, [...serve.split(' '), join(HERE, 'tether.config.json')], {
  TETHER_BACKEND_URL: backendUrl,
  TETHER_BACKEND_EVENTS: 'message,request,connect',
  ...keys,
});
const up = (url) =>
  fetch(url).then(
    (r) => r.ok,
    () => false,
  );
await until(
  async () => (await up(`${backendUrl}/fleet`)) && (await up(`${hubUrl}/healthz`)),
  30_000,
  'hub and backend',
);
log('fleet', `hub ${hubUrl}, backend ${backendUrl}`);

// --- the devices' network: a proxy that can cut every connection at once.
const proxy = await createFaultProxy({ target: { host: '127.0.0.1', port: hubPort } });
const devices = Array.from({ length: DEVICES }, (_, i) => {
  const id = `dev-${i + 1}`;
  const child = start(
    id,
    opts['device-python'],
    [
      join(HERE, 'device.py'),
      '--id',
      id,
      '--readings',
      String(READINGS),
      '--url',
      `ws://127.0.0.1:${proxy.port}/ws`,
    ],
    { PYTHONPATH: join(ROOT, 'clients/python/src'), PYTHONDONTWRITEBYTECODE: '1' },
  );
  const device = { id, events: [], exit: new Promise((resolve) => child.once('exit', resolve)) };
  let partial = '';
  child.stdout.setEncoding('utf8').on('data', (chunk) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines.filter(Boolean)) {
      const event = JSON.parse(line);
      device.events.push(event);
      if (event.event !== 'command') log(id, line);
    }
  });
  return device;
});

// A third of the readings in: a settings change for the whole fleet (faster sampling).
await until(
  async () => stored(await get(`${backendUrl}/fleet`)) >= (DEVICES * READINGS) / 3,
  60_000,
  'a third of the readings',
);
const published = await fetch(`${backendUrl}/config`, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: '{"sampleMs":5}',
});
log('operator', `fleet:config published: ${await published.text()}`);
// Half of them in: the network drops every device connection (TCP reset).
await until(
  async () => stored(await get(`${backendUrl}/fleet`)) >= (DEVICES * READINGS) / 2,
  60_000,
  'half of the readings',
);
proxy.resetAll();
log('network', 'every device connection reset');

const codes = await Promise.all(devices.map((d) => d.exit));
const fleet = await get(`${backendUrl}/fleet`);
stopping = true;
await proxy.close();
for (const child of children) child.kill('SIGTERM');

// --- the report: what the backend stored against what every device sent.
const report = { devices: {}, replays: fleet.replays, ok: true };
for (const [i, d] of devices.entries()) {
  const got = fleet.devices[d.id]?.ns ?? [];
  const done = d.events.find((e) => e.event === 'done');
  const commandsSent = Object.entries(fleet.commands).filter(([, c]) => c.device === d.id);
  const row = {
    exit: codes[i],
    stored: got.length,
    inOrderOnce: got.length === READINGS && got.every((n, k) => n === k + 1),
    commandsSent: commandsSent.length,
    commands: done?.commands ?? [],
    commandsDone: commandsSent.filter(([, c]) => c.done).length,
    resumed: done?.resumed ?? 0,
    configVersion: done?.config_version ?? null,
  };
  // Commands go out at every 50th reading; each must arrive once, in order, and be reported done.
  const expected = Array.from(
    { length: Math.floor(READINGS / 50) },
    (_, k) => `${d.id}:${(k + 1) * 50}`,
  );
  row.ok =
    row.exit === 0 &&
    row.inOrderOnce &&
    row.commandsSent === expected.length &&
    row.commands.join() === expected.join() &&
    row.commandsDone === expected.length &&
    row.configVersion === 2;
  report.ok &&= row.ok;
  report.devices[d.id] = row;
}
console.log(`REPORT ${JSON.stringify(report)}`);
console.log(
  report.ok
    ? `ok: ${DEVICES} devices, every reading stored once and in order, every command carried out`
    : 'FAILED',
);
process.exit(report.ok ? 0 : 1);

function stored(f) {
  return Object.values(f?.devices ?? {}).reduce((sum, d) => sum + d.count, 0);
}
async function get(url) {
  return fetch(url).then(
    (r) => (r.ok ? r.json() : undefined),
    () => undefined,
  );
}
async function until(check, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer().once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}
