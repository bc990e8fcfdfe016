import { checkWsUrl, FlagValues, parseFlags, UsageError } from '../flags.js';

/** The bench's scenarios, in the order they run. */
export const SCENARIOS = ['idle', 'fanout', 'echo', 'storm'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

/**
 * Defaults sized for a 2-core machine shared with other work: a default run of all four
 * scenarios finishes in well under a minute. Flags scale every one of them up.
 */
export const BENCH_DEFAULTS = {
  connections: 2_000,
  subscribers: 500,
  batch: 20,
  payloadBytes: 64,
  echoClients: 50,
  echoRate: 50,
  stormClients: 200,
  durationMs: 3_000,
  warmupMs: 500,
  holdMs: 1_000,
  addresses: 4,
  concurrency: 200,
  /** Connections per worker process before the bench forks more (20,000 open files per process here). */
  connectionsPerWorker: 8_000,
  /** Publications per second during the storm, at most (see {@link stormRateFor}). */
  stormRate: 20,
  /**
   * Deliveries per second (publications/s × clients) the storm's default rate stays
   * within: what the client processes of a 2-core machine parse and audit while the
   * server restarts under them. 20/s to 10,000 clients (200,000 deliveries/s) starves
   * the clients, not the server (see docs/tools.md).
   */
  stormDeliveriesPerSec: 20_000,
  /** Retry hint of the storm's restart: what `tether serve` gives clients on SIGTERM. */
  stormRetryAfterMs: 1_000,
  /** How long the storm waits for every client to be back (the verdict's deadline is shorter). */
  stormTimeoutMs: 60_000,
  /** Storm clients per worker process (full Tether clients weigh more than load connections). */
  stormClientsPerWorker: 2_500,
  /** The verdict allows this much beyond the hinted window (graceful) or the maximum backoff (kill). */
  stormSlackMs: 5_000,
} as const;

/** The storm's restarts: `graceful` (drain + retry hints), `kill` (SIGKILL, no hints), `both`. */
export type StormRestart = 'graceful' | 'kill' | 'both';

export interface BenchArgs {
  scenarios: ScenarioName[];
  url: string | undefined;
  /** With `--url`: the ops key of its `/metrics` (server CPU and memory). */
  opsKey: string | undefined;
  hub: 'child' | 'in-process' | undefined;
  host: string;
  /** Undefined: memory for the shared hub, a temporary SQLite file for the storm. */
  store: 'memory' | `sqlite:${string}` | undefined;
  connections: number;
  subscribers: number;
  batch: number;
  payloadBytes: number;
  echoClients: number;
  echoRate: number;
  stormClients: number;
  durationMs: number;
  warmupMs: number;
  holdMs: number;
  addresses: number;
  concurrency: number;
  /** Undefined: decided by the connection counts. */
  workers: number | undefined;
  stormRetryAfterMs: number;
  /** `--retry-spread`; undefined: the server's own (4 s, or connections / restartReconnectRate). */
  stormRetrySpreadMs: number | undefined;
  /** Which restarts the storm runs, in order: a drain with hints, a SIGKILL, or both. */
  stormRestart: StormRestart;
  /** `--storm-rate`; undefined: {@link stormRateFor} decides. */
  stormRate: number | undefined;
  json: boolean;
  help: boolean;
}

export const BENCH_USAGE = `Usage: tether bench [scenario...] [options]

Runs load scenarios against a hub it starts (in a child process by default) or a URL,
then prints a table (or JSON). Scenarios (default: all; storm needs its own hub):
  idle     open N idle connections: connect rate, server memory per connection
  fanout   one publisher, N subscribers: delivered messages/s, server CPU
  echo     request/reply round trips: p50/p90/p99/max from an HDR histogram
  storm    restart the server under N clients (drained, then SIGKILL): time until all
           resumed, reconnect curve, server CPU and event-loop delay, loss

Options:
  --url <ws-url>         bench a running Tether server (it must allow client publishes
                         for fanout); server CPU and memory from its /metrics when it
                         exports Node's process metrics (tether serve; all workers)
  --ops-key <key>        with --url: the ops key of its /metrics
  --hub child|in-process where the bench's own hub runs (default child)
  --store <spec>         hub store: memory or sqlite:PATH (default: memory, and a
                         temporary SQLite file for the storm)
  --connections <n>      idle: connections (default 2000)
  --subscribers <n>      fanout: subscribers (default 500)
  --batch <n>            fanout: publications per burst (default 20)
  --payload <bytes>      payload padding (default 64)
  --echo-clients <n>     echo: clients (default 50)
  --rate <n>             echo: round trips per second per client (default 50)
  --storm-clients <n>    storm: clients (default 200)
  --retry-after <d>      storm: the restart's retry hint (default 1s, like tether serve)
  --retry-spread <d>     storm: hint spread (default: the server's, like tether serve:
                         4s, or 1s per 1,000 clients where that is more)
  --storm-restart <kind> storm: graceful, kill or both (default both, in that order)
  --storm-rate <n>       storm: publications per second (default 20, at most 20000
                         deliveries/s in all: 2/s at 10000 clients)
  --duration <d>         measurement window per scenario (default 3s)
  --warmup <d>           warm-up before measuring (default 500ms)
  --hold <d>             idle: how long the connections stay open (default 1s)
  --addresses <n>        spread connections over 127.0.0.1..127.0.0.N (default 4; loopback only)
  --workers <n>          client worker processes (default: one per 8000 connections,
                         one per 2500 storm clients)
  --concurrency <n>      connection attempts in flight (default 200)
  --host <addr>          interface of the bench's hub (default 127.0.0.1)
  --json                 print the results as JSON
  -h, --help             show this help`;

const SPECS = {
  url: { kind: 'string' },
  'ops-key': { kind: 'string' },
  hub: { kind: 'string', choices: ['child', 'in-process'] },
  store: { kind: 'string' },
  connections: { kind: 'int', min: 1, max: 1_000_000 },
  subscribers: { kind: 'int', min: 1, max: 1_000_000 },
  batch: { kind: 'int', min: 1, max: 1_000 },
  payload: { kind: 'int', min: 0, max: 60_000 },
  'echo-clients': { kind: 'int', min: 1, max: 100_000 },
  rate: { kind: 'number', min: 0.1, max: 100_000 },
  'storm-clients': { kind: 'int', min: 1, max: 100_000 },
  'retry-after': { kind: 'duration', min: 0, max: 600_000 },
  'retry-spread': { kind: 'duration', min: 0, max: 600_000 },
  'storm-restart': { kind: 'string', choices: ['graceful', 'kill', 'both'] },
  'storm-rate': { kind: 'number', min: 0.1, max: 1_000 },
  duration: { kind: 'duration', min: 100, max: 3_600_000 },
  warmup: { kind: 'duration', min: 0, max: 600_000 },
  hold: { kind: 'duration', min: 0, max: 3_600_000 },
  addresses: { kind: 'int', min: 1, max: 250 },
  workers: { kind: 'int', min: 0, max: 64 },
  concurrency: { kind: 'int', min: 1, max: 10_000 },
  host: { kind: 'string' },
  json: { kind: 'bool' },
} as const;

/** Parses the arguments after `bench`; throws a {@link UsageError} naming the flag. */
export function parseBenchArgs(argv: readonly string[]): BenchArgs {
  const f = new FlagValues(parseFlags(argv, SPECS));
  const d = BENCH_DEFAULTS;
  const url = f.has('url') ? checkWsUrl(f.optionalStr('url'), '--url') : undefined;
  for (const name of f.positionals) {
    if (!(SCENARIOS as readonly string[]).includes(name)) {
      throw new UsageError(`unknown scenario "${name}" (scenarios: ${SCENARIOS.join(', ')})`);
    }
  }
  let scenarios = (
    f.positionals.length === 0 ? [...SCENARIOS] : [...new Set(f.positionals)]
  ) as ScenarioName[];
  scenarios = SCENARIOS.filter((s) => scenarios.includes(s));
  if (url !== undefined) {
    if (f.positionals.includes('storm')) {
      throw new UsageError(
        "storm restarts the server, so it needs the bench's own hub (drop --url)",
      );
    }
    scenarios = scenarios.filter((s) => s !== 'storm');
    for (const flag of ['hub', 'store', 'host'] as const) {
      if (f.has(flag))
        throw new UsageError(`--${flag}: only for the bench's own hub, not with --url`);
    }
  }
  if (url === undefined && f.has('ops-key')) {
    throw new UsageError(
      "--ops-key: only with --url (the bench's own hub reports its usage itself)",
    );
  }
  return {
    scenarios,
    url,
    opsKey: f.has('ops-key') ? f.optionalStr('ops-key') : undefined,
    hub: f.has('hub') ? f.str<'child' | 'in-process'>('hub', 'child') : undefined,
    host: f.str('host', '127.0.0.1'),
    store: f.has('store') ? parseStore(f.optionalStr('store')) : undefined,
    connections: f.num('connections', d.connections),
    subscribers: f.num('subscribers', d.subscribers),
    batch: f.num('batch', d.batch),
    payloadBytes: f.num('payload', d.payloadBytes),
    echoClients: f.num('echo-clients', d.echoClients),
    echoRate: f.num('rate', d.echoRate),
    stormClients: f.num('storm-clients', d.stormClients),
    durationMs: f.num('duration', d.durationMs),
    warmupMs: f.num('warmup', d.warmupMs),
    holdMs: f.num('hold', d.holdMs),
    addresses: f.num('addresses', d.addresses),
    concurrency: f.num('concurrency', d.concurrency),
    workers: f.optionalNum('workers'),
    stormRetryAfterMs: f.num('retry-after', d.stormRetryAfterMs),
    stormRetrySpreadMs: f.optionalNum('retry-spread'),
    stormRestart: f.str<StormRestart>('storm-restart', 'both'),
    stormRate: f.optionalNum('storm-rate'),
    json: f.bool('json'),
    help: f.help,
  };
}

/** `memory` or `sqlite:PATH`, as the server's `store` option takes them. */
export function parseStore(value: string | undefined): 'memory' | `sqlite:${string}` {
  if (value === undefined || value === 'memory') return 'memory';
  if (value.startsWith('sqlite:') && value.length > 'sqlite:'.length)
    return value as `sqlite:${string}`;
  throw new UsageError(`--store: expected memory or sqlite:PATH, got "${value}"`);
}

/** Source addresses for `count` loopback addresses, or none when the target is not loopback. */
export function sourceAddresses(targetUrl: string, count: number): string[] {
  const host = new URL(targetUrl).hostname;
  if (!/^127\.\d+\.\d+\.\d+$/.test(host)) return [];
  return Array.from({ length: count }, (_, i) => `127.0.0.${i + 1}`);
}

/**
 * The storm's publications per second: `--storm-rate`, else 20/s capped so that all
 * clients together get at most {@link BENCH_DEFAULTS.stormDeliveriesPerSec}.
 */
export function stormRateFor(args: Pick<BenchArgs, 'stormRate' | 'stormClients'>): number {
  if (args.stormRate !== undefined) return args.stormRate;
  const d = BENCH_DEFAULTS;
  return Math.min(d.stormRate, d.stormDeliveriesPerSec / args.stormClients);
}

/** Worker processes for the storm's clients (0: this process holds them). */
export function stormWorkersFor(args: BenchArgs, canFork: boolean): number {
  if (args.workers !== undefined) return args.workers;
  return canFork ? Math.ceil(args.stormClients / BENCH_DEFAULTS.stormClientsPerWorker) : 0;
}

/** Worker processes for the largest connection count of the run (0: this process holds them). */
export function workersFor(args: BenchArgs): number {
  if (args.workers !== undefined) return args.workers;
  const largest = Math.max(
    args.scenarios.includes('idle') ? args.connections : 0,
    args.scenarios.includes('fanout') ? args.subscribers : 0,
    args.scenarios.includes('echo') ? args.echoClients : 0,
  );
  return largest > BENCH_DEFAULTS.connectionsPerWorker
    ? Math.ceil(largest / BENCH_DEFAULTS.connectionsPerWorker)
    : 0;
}
