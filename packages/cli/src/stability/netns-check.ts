import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { formatDuration } from '@tether/common';
import { IpcPeer } from '../bench/ipc.js';
import { waitReady } from '../bench/worker-pool.js';
import { isClean, sumVerdicts } from '../chaos/sequence-audit.js';
import {
  type CheckRecorder,
  type CheckResult,
  distribution,
  runCheck,
  sleep,
  waitUntil,
} from './check.js';
import { NETNS_SERVER_IP, NetnsPair, type NetnsSide, netnsUnavailable } from './netns.js';
import type {
  NetnsClientsConfig,
  NetnsClientsReport,
  NetnsClientsStatus,
  NetnsClose,
  NetnsServerConfig,
  NetnsServerReport,
} from './netns-child.js';

/**
 * Kernel-level faults between real processes: the server in one network namespace, the
 * clients in another, joined by a veth. Through 30 % packet loss (iptables statistic
 * drops, each direction), a black hole (every packet dropped, no RST, no ICMP) and a link
 * flap (the server's veth down, then up), the server publishes numbered publications and
 * every client sends numbered reliable messages. Afterwards nothing may be lost,
 * duplicated or reordered, and both sides must have detected the dead link of every
 * connection within heartbeat interval + timeout + 1 s of the fault's start.
 */

export interface NetnsOptions {
  clients: number;
  heartbeatIntervalMs: number;
  heartbeatTimeoutMs: number;
  /** Probability each packet is dropped, per direction. */
  lossProbability: number;
  lossMs: number;
  blackHoleMs: number;
  flapMs: number;
  /** Upper bound on each wait for the clients to reconnect and catch up. */
  settleMs: number;
  /** The child entry (the built netns-child.js next to this file by default). */
  entry?: string;
}

export const NETNS_DEFAULTS: Omit<NetnsOptions, 'heartbeatIntervalMs' | 'heartbeatTimeoutMs'> = {
  clients: 50,
  lossProbability: 0.3,
  lossMs: 15_000,
  blackHoleMs: 10_000,
  flapMs: 8_000,
  settleMs: 60_000,
};

/** Path of the compiled child entry next to this file. */
export const NETNS_CHILD_ENTRY = fileURLToPath(new URL('./netns-child.js', import.meta.url));
/** Detection must come within interval + timeout + this. */
export const NETNS_DETECTION_SLACK_MS = 1_000;
/** Publications per second from the server, and client sends per second per client. */
export const NETNS_PUBLISH_EVERY_MS = 100;
export const NETNS_SEND_EVERY_MS = 500;
const POLL_MS = 100;

interface Child {
  child: ChildProcess;
  peer: IpcPeer;
}

async function startChild(
  pair: NetnsPair,
  side: NetnsSide,
  entry: string,
  config: NetnsServerConfig | NetnsClientsConfig,
): Promise<Child & { url?: string }> {
  const [command, args] = pair.exec(side, [process.execPath, entry, JSON.stringify(config)]);
  const child = spawn(command, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  try {
    const ready = await waitReady<{ ready: true; url?: string }>(child, `netns ${side}`);
    return { child, peer: new IpcPeer(child, `netns ${side}`), ...ready };
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
}

async function stopChild(c: Child): Promise<void> {
  if (c.child.exitCode !== null || c.child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => c.child.once('exit', () => resolve()));
  await c.peer.call('close', {}, 10_000).catch(() => c.child.kill('SIGKILL'));
  // A child that answered but does not exit is killed; the timer never outlives the wait.
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    exited,
    new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        c.child.kill('SIGKILL');
        resolve();
      }, 5_000);
    }),
  ]);
  clearTimeout(timer);
}

/** One timed fault: when it started and ended (wall clock, ms). */
interface FaultWindow {
  name: string;
  startedAt: number;
  endedAt: number;
}

/** Per connection, the time from the fault's start to its first close on that side. */
function detections(
  closes: readonly NetnsClose[],
  names: readonly string[],
  w: FaultWindow,
): { samples: number[]; codes: string } {
  const samples: number[] = [];
  const codes: Record<number, number> = {};
  for (const name of names) {
    const first = closes.find((c) => c.name === name && c.at >= w.startedAt && c.at <= w.endedAt);
    if (first === undefined) continue;
    samples.push(first.at - w.startedAt);
    codes[first.code] = (codes[first.code] ?? 0) + 1;
  }
  const list = Object.entries(codes).map(([code, n]) => `${code} x${n}`);
  return { samples, codes: list.length === 0 ? 'none' : list.join(', ') };
}

export function netnsCheck(options: NetnsOptions): Promise<CheckResult> {
  const hb = options.heartbeatIntervalMs + options.heartbeatTimeoutMs;
  const bound = hb + NETNS_DETECTION_SLACK_MS;
  return runCheck(
    'netns',
    `${options.clients} clients in network namespaces through ${Math.round(options.lossProbability * 100)} % loss, a ${formatDuration(options.blackHoleMs)} black hole and a ${formatDuration(options.flapMs)} link flap`,
    async (check) => {
      const unavailable = netnsUnavailable();
      if (unavailable !== undefined) {
        if (isCi()) check.fail(`${unavailable}; CI=true: a check that cannot run fails`);
        else check.skip(unavailable);
        return;
      }
      const entry = options.entry ?? NETNS_CHILD_ENTRY;
      if (!existsSync(entry)) throw new Error(`${entry} is missing: build the CLI (npm run build)`);
      const pair = NetnsPair.create();
      const children: Child[] = [];
      try {
        const server = await startChild(pair, 'server', entry, {
          role: 'server',
          host: NETNS_SERVER_IP,
          heartbeatIntervalMs: options.heartbeatIntervalMs,
          heartbeatTimeoutMs: options.heartbeatTimeoutMs,
        });
        children.push(server);
        const clients = await startChild(pair, 'client', entry, {
          role: 'clients',
          url: server.url as string,
          clients: options.clients,
          maxReconnectDelayMs: 1_000,
          connectTimeoutMs: 3_000,
        });
        children.push(clients);
        await runPhases(check, options, pair, server, clients, bound);
      } finally {
        await Promise.all(children.map(stopChild));
        pair.dispose();
      }
    },
  );
}

async function runPhases(
  check: CheckRecorder,
  options: NetnsOptions,
  pair: NetnsPair,
  server: Child,
  clients: Child,
  bound: number,
): Promise<void> {
  const status = (published = 0): Promise<NetnsClientsStatus> =>
    clients.peer.call<NetnsClientsStatus>('status', { published });
  const opened = await waitUntil(
    async () => (await status()).open === options.clients,
    30_000,
    POLL_MS,
  );
  if (!opened)
    throw new Error(`${options.clients - (await status()).open} clients did not connect`);
  await clients.peer.call('subscribe', {}, 30_000);
  await server.peer.call('start', { everyMs: NETNS_PUBLISH_EVERY_MS });
  await clients.peer.call('start', { everyMs: NETNS_SEND_EVERY_MS });

  /** Waits until every client is open and has every publication so far. */
  const settle = async (after: string): Promise<void> => {
    const started = performance.now();
    const published = await server.peer.call<number>('published');
    const ok = await waitUntil(
      async () => (await status(published)).caughtUp,
      options.settleMs,
      POLL_MS,
    );
    check.number(
      `catch-up after ${after}`,
      ok ? `${Math.round(performance.now() - started)} ms` : 'timed out',
    );
    check.expect(
      ok,
      `clients had not caught up ${formatDuration(options.settleMs)} after ${after}`,
    );
  };
  const timed = async (name: string, ms: number, apply: () => void, lift: () => void) => {
    const startedAt = Date.now();
    apply();
    await sleep(ms);
    lift();
    return { name, startedAt, endedAt: Date.now() } satisfies FaultWindow;
  };

  await sleep(options.heartbeatIntervalMs);
  const before = (await status()).received;
  const loss = await timed(
    'loss',
    options.lossMs,
    () => pair.loss(options.lossProbability),
    () => pair.clearRules(),
  );
  const during = (await status()).received;
  await settle('the loss');
  const hole = await timed(
    'black hole',
    options.blackHoleMs,
    () => pair.blackHole(),
    () => pair.clearRules(),
  );
  await settle('the black hole');
  const flap = await timed(
    'link flap',
    options.flapMs,
    () => pair.link(false),
    () => pair.link(true),
  );
  await settle('the link flap');

  const published = await server.peer.call<number>('stop');
  const sent = await clients.peer.call<Record<string, number>>('stop');
  const names = Object.keys(sent);
  const finalOk = await waitUntil(
    async () =>
      (await status(published)).caughtUp &&
      (await server.peer.call<NetnsServerReport>('report', { sent })).complete,
    options.settleMs,
    POLL_MS,
  );
  check.expect(
    finalOk,
    `not everything arrived ${formatDuration(options.settleMs)} after the traffic stopped`,
  );
  const c = await clients.peer.call<NetnsClientsReport>('report', { published });
  const s = await server.peer.call<NetnsServerReport>('report', { sent });
  const all = sumVerdicts([c.publications, s.sends]);
  const progressed = during.filter((n, i) => n > (before[i] ?? 0)).length;
  const closedDuringLoss = (closes: readonly NetnsClose[]) =>
    closes.filter((x) => x.at >= loss.startedAt && x.at <= loss.endedAt).length;

  check
    .number('clients', options.clients)
    .number('publications delivered', `${c.publications.delivered}/${c.publications.expected}`)
    .number('client sends processed', `${s.sends.delivered}/${s.sends.expected}`)
    .number('lost', all.lost)
    .number('duplicated', all.duplicated)
    .number('reordered', all.reordered)
    .number('unexpected', all.unexpected)
    .number('sends failed', c.sendsFailed)
    .number('publish errors', s.publishErrors)
    .number(
      'reconnects (resumed / not resumed)',
      `${c.reconnects} (${c.resumes} / ${c.resumeFailures})`,
    )
    .number('gap signals', c.gapSignals)
    .number('clients receiving during the loss', `${progressed}/${options.clients}`)
    .number(
      'closes during the loss (client / server)',
      `${closedDuringLoss(c.closes)} / ${closedDuringLoss(s.closes)}`,
    );
  check.expect(
    isClean(all),
    `${all.lost} lost, ${all.duplicated} duplicated, ${all.reordered} reordered, ${all.unexpected} unexpected`,
  );
  check.expect(c.sendsFailed === 0, `${c.sendsFailed} client sends failed`);
  check.expect(s.publishErrors === 0, `${s.publishErrors} publications refused`);
  check.expect(
    c.resumeFailures === 0,
    `${c.resumeFailures} reconnects did not resume their session`,
  );
  check.expect(c.gapSignals === 0, `${c.gapSignals} gap signals`);
  check.expect(
    progressed === options.clients,
    `${options.clients - progressed} clients received nothing during the loss`,
  );

  for (const w of [hole, flap]) {
    for (const [side, closes] of [
      ['client', c.closes],
      ['server', s.closes],
    ] as const) {
      const { samples, codes } = detections(closes, names, w);
      const d = distribution(`${w.name}: ${side} detection`, samples, bound);
      check.distribution(d);
      check.number(
        `${w.name}: ${side} detections (close codes)`,
        `${samples.length}/${names.length} (${codes})`,
      );
      check.expect(
        samples.length === names.length,
        `${w.name}: the ${side} missed ${names.length - samples.length} dead connections`,
      );
      check.expect(
        d.maxMs <= bound,
        `${w.name}: ${side} detection took up to ${d.maxMs} ms (bound ${bound} ms)`,
      );
    }
  }
  check.note(
    `heartbeat ${formatDuration(options.heartbeatIntervalMs)} + ${formatDuration(options.heartbeatTimeoutMs)}; detection bound ${bound} ms; a publication every ${NETNS_PUBLISH_EVERY_MS} ms, a send per client every ${NETNS_SEND_EVERY_MS} ms; client backoff capped at 1 s, connect timeout 3 s, breaker off`,
  );
}

function isCi(): boolean {
  const v = process.env.CI;
  return v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'false';
}
