import { parseStore } from '../bench/args.js';
import { type FlagSpec, FlagValues, parseFlags, UsageError } from '../flags.js';

/** The faults a chaos run injects. Every field is optional; absent = that fault is off. */
export interface FaultPlan {
  /** Added delay per chunk, each direction. */
  latencyMs: number;
  /** Extra random delay 0..jitter per chunk (order is kept, as TCP keeps it). */
  jitterMs: number;
  /** Bytes per second per direction per connection; undefined = unlimited. */
  bandwidth: number | undefined;
  /** Mean interval between resets of one random connection (TCP RST both ways). */
  resetEveryMs: number | undefined;
  /** Mean interval between stalls (a half-open link: no byte, FIN or RST gets through). */
  stallEveryMs: number | undefined;
  /** How long each stall lasts. */
  stallForMs: number;
  /** Every connection is cut at once, periodically (a proxy's idle or max-age timeout). */
  cutEveryMs: number | undefined;
}

export interface ChaosAuditArgs {
  mode: 'audit';
  faults: FaultPlan;
  clients: number;
  durationMs: number;
  /** Server publications per second (numbered). */
  publishRate: number;
  /** Client sends per second, per client (numbered per client). */
  sendRate: number;
  /** After the faults stop, how long everything may take to arrive. */
  settleMs: number;
  store: 'memory' | `sqlite:${string}`;
  heartbeatIntervalMs: number;
  heartbeatTimeoutMs: number;
  /** The hub's session resume window; undefined = the server default (120 s). */
  resumeWindowMs: number | undefined;
  seed: number | undefined;
  json: boolean;
  help: boolean;
}

export interface ChaosProxyArgs {
  mode: 'proxy';
  faults: FaultPlan;
  target: { host: string; port: number };
  /** Interface the proxy listens on (an ephemeral port). */
  listenHost: string;
  durationMs: number | undefined;
  seed: number | undefined;
  help: boolean;
}

export type ChaosArgs = ChaosAuditArgs | ChaosProxyArgs;

/** Defaults of the audit: a 2-core machine finishes it in about half a minute. */
export const CHAOS_DEFAULTS = {
  clients: 20,
  durationMs: 20_000,
  publishRate: 20,
  sendRate: 5,
  settleMs: 30_000,
  heartbeatIntervalMs: 1_000,
  heartbeatTimeoutMs: 1_000,
  latencyMs: 20,
  jitterMs: 20,
  resetEveryMs: 2_000,
  stallEveryMs: 7_000,
  /** Longer than heartbeat interval + timeout, so both sides must detect it. */
  stallForMs: 4_000,
  cutEveryMs: 9_000,
} as const;

export const CHAOS_USAGE = `Usage: tether chaos [audit] [options]
       tether chaos proxy --target HOST:PORT [options]

audit (default): starts a hub and a fault proxy per client in front of it, runs numbered
  publications and numbered client sends through the faults for --duration, stops the
  faults, waits for everything to arrive, and prints the verdict: delivered, lost,
  duplicated, reordered, reconnects, and how long half-open links took to detect.
  Exit status 0 only when the verdict is clean.
proxy: a fault proxy in front of any TCP server, until Ctrl-C or --duration; point your
  own clients at the port it prints.

Faults (audit defaults in brackets; "0" or "off" turns one off):
  --latency <d>         added delay per chunk [20ms]
  --jitter <d>          extra random delay 0..d per chunk, order kept [20ms]
  --bandwidth <rate>    bytes/s per direction per connection, e.g. 64k, 1m [unlimited]
  --reset-every <d>     reset one random connection every ~d [2s]
  --stall-every <d>     stall one random connection every ~d [7s] ...
  --stall-for <d>       ... for this long: a half-open link [4s]
  --cut-every <d>       cut every connection at once every d (proxy timeouts) [9s]
  --seed <n>            seed of the fault randomness, to replay a run

Audit options:
  --clients <n>              clients, each behind its own proxy [20]
  --duration <d>             how long faults and traffic run [20s]
  --rate <n>                 server publications per second [20]
  --send-rate <n>            client sends per second per client [5]
  --settle <d>               after the faults, deadline for everything to arrive [30s]
  --store <spec>             memory or sqlite:PATH [memory]
  --heartbeat-interval <d>   the hub's heartbeat interval [1s]
  --heartbeat-timeout <d>    the hub's heartbeat timeout [1s]
  --resume-window <d>        the hub's session resume window [120s]
  --json                     print the verdict as JSON

Proxy options:
  --target <host:port>  where to forward (a ws:// URL works too)
  --listen <addr>       interface to listen on [127.0.0.1]
  --duration <d>        stop after this long [until Ctrl-C]`;

/** A fault interval: a duration of at least 10 ms, or `off` (or `0`) to turn the fault off. */
const INTERVAL: FlagSpec = { kind: 'duration', off: true, min: 10, max: 30 * 86_400_000 };

const FAULT_SPECS: Record<string, FlagSpec> = {
  latency: { kind: 'duration', min: 0, max: 600_000 },
  jitter: { kind: 'duration', min: 0, max: 600_000 },
  bandwidth: { kind: 'string' },
  'reset-every': INTERVAL,
  'stall-every': INTERVAL,
  'stall-for': { kind: 'duration', min: 1, max: 3_600_000 },
  'cut-every': INTERVAL,
  seed: { kind: 'int', min: 0, max: 2 ** 31 },
};

const AUDIT_SPECS: Record<string, FlagSpec> = {
  ...FAULT_SPECS,
  clients: { kind: 'int', min: 1, max: 5_000 },
  duration: { kind: 'duration', min: 100, max: 86_400_000 },
  rate: { kind: 'number', min: 0, max: 100_000 },
  'send-rate': { kind: 'number', min: 0, max: 10_000 },
  settle: { kind: 'duration', min: 100, max: 3_600_000 },
  store: { kind: 'string' },
  'heartbeat-interval': { kind: 'duration', min: 10, max: 86_400_000 },
  'heartbeat-timeout': { kind: 'duration', min: 10, max: 86_400_000 },
  'resume-window': { kind: 'duration', min: 0, max: 30 * 86_400_000 },
  json: { kind: 'bool' },
};

const PROXY_SPECS: Record<string, FlagSpec> = {
  ...FAULT_SPECS,
  target: { kind: 'string' },
  listen: { kind: 'string' },
  duration: { kind: 'duration', min: 100, max: 30 * 86_400_000 },
};

/** Parses the arguments after `chaos`; throws a {@link UsageError} naming the flag. */
export function parseChaosArgs(argv: readonly string[]): ChaosArgs {
  const [first, ...rest] = argv;
  if (first === 'proxy') return parseProxy(rest);
  return parseAudit(first === 'audit' ? rest : argv);
}

function parseAudit(argv: readonly string[]): ChaosAuditArgs {
  const f = new FlagValues(parseFlags(argv, AUDIT_SPECS));
  if (f.positionals.length > 0) {
    throw new UsageError(`unexpected argument "${f.positionals[0]}" (modes: audit, proxy)`);
  }
  const d = CHAOS_DEFAULTS;
  const faults = parseFaults(f, {
    latencyMs: d.latencyMs,
    jitterMs: d.jitterMs,
    resetEveryMs: d.resetEveryMs,
    stallEveryMs: d.stallEveryMs,
    stallForMs: d.stallForMs,
    cutEveryMs: d.cutEveryMs,
  });
  return {
    mode: 'audit',
    faults,
    clients: f.num('clients', d.clients),
    durationMs: f.num('duration', d.durationMs),
    publishRate: f.num('rate', d.publishRate),
    sendRate: f.num('send-rate', d.sendRate),
    settleMs: f.num('settle', d.settleMs),
    store: parseStore(f.optionalStr('store')),
    heartbeatIntervalMs: f.num('heartbeat-interval', d.heartbeatIntervalMs),
    heartbeatTimeoutMs: f.num('heartbeat-timeout', d.heartbeatTimeoutMs),
    resumeWindowMs: f.optionalNum('resume-window'),
    seed: f.optionalNum('seed'),
    json: f.bool('json'),
    help: f.help,
  };
}

function parseProxy(argv: readonly string[]): ChaosProxyArgs {
  const f = new FlagValues(parseFlags(argv, PROXY_SPECS));
  if (f.positionals.length > 0) throw new UsageError(`unexpected argument "${f.positionals[0]}"`);
  const faults = parseFaults(f, {
    latencyMs: 0,
    jitterMs: 0,
    stallForMs: CHAOS_DEFAULTS.stallForMs,
  });
  const help = f.help;
  return {
    mode: 'proxy',
    faults,
    target: help ? { host: '', port: 0 } : parseTarget(f.optionalStr('target')),
    listenHost: f.str('listen', '127.0.0.1'),
    durationMs: f.optionalNum('duration'),
    seed: f.optionalNum('seed'),
    help,
  };
}

function parseFaults(f: FlagValues, defaults: Partial<FaultPlan>): FaultPlan {
  return {
    latencyMs: f.num('latency', defaults.latencyMs ?? 0),
    jitterMs: f.num('jitter', defaults.jitterMs ?? 0),
    bandwidth: parseRate(f.optionalStr('bandwidth')),
    resetEveryMs: f.numOrOff('reset-every', defaults.resetEveryMs),
    stallEveryMs: f.numOrOff('stall-every', defaults.stallEveryMs),
    stallForMs: f.num('stall-for', defaults.stallForMs ?? CHAOS_DEFAULTS.stallForMs),
    cutEveryMs: f.numOrOff('cut-every', defaults.cutEveryMs),
  };
}

/** `64k`, `1.5m`, `1000` (bytes per second); `off` = unlimited. */
export function parseRate(text: string | undefined): number | undefined {
  if (text === undefined || text === 'off' || text === '0') return undefined;
  const match = /^(\d+(?:\.\d+)?)\s*([kKmM]?)(?:b|B)?(?:\/s)?$/.exec(text.trim());
  if (!match)
    throw new UsageError(`--bandwidth: expected bytes per second like 64k or 1m, got "${text}"`);
  const unit =
    match[2]?.toLowerCase() === 'k' ? 1024 : match[2]?.toLowerCase() === 'm' ? 1024 * 1024 : 1;
  const value = Math.round(Number(match[1]) * unit);
  if (value < 1) throw new UsageError(`--bandwidth: must be at least 1 byte/s, got "${text}"`);
  return value;
}

function parseTarget(text: string | undefined): { host: string; port: number } {
  if (text === undefined) throw new UsageError('--target: required (host:port or a ws:// URL)');
  let host: string;
  let port: number;
  if (/^[a-z]+:\/\//i.test(text)) {
    const url = new URL(text);
    host = url.hostname.replace(/^\[|\]$/g, '');
    port = Number(url.port || (url.protocol === 'wss:' || url.protocol === 'https:' ? 443 : 80));
  } else {
    const match = /^(.+):(\d+)$/.exec(text);
    if (!match) throw new UsageError(`--target: expected host:port, got "${text}"`);
    host = (match[1] as string).replace(/^\[|\]$/g, '');
    port = Number(match[2]);
  }
  if (!(port > 0 && port < 65_536)) throw new UsageError(`--target: bad port in "${text}"`);
  return { host, port };
}
