import { checkWsUrl, FlagValues, parseFlags, UsageError } from './flags.js';

/** What `tether probe` was asked to do. */
export interface ProbeArgs {
  url: string;
  /** How long to hold the connection. */
  durationMs: number;
  /** App pings (Tether) or WebSocket pings (`--raw`) every this often; 0 = passive. */
  pingIntervalMs: number;
  /** A ping without any answer within this long means a dead link. Undefined: the server's announced timeout (Tether), else 10 s. */
  pingTimeoutMs: number | undefined;
  /** Upgrade plus welcome must complete within this. */
  connectTimeoutMs: number;
  /** Unhealthy when the 99th percentile RTT exceeds this. */
  maxRttMs: number | undefined;
  /** Any WebSocket server, no Tether protocol. */
  raw: boolean;
  /** Subprotocols to offer in `--raw` mode. */
  subprotocols: string[];
  token: string | undefined;
  json: boolean;
  help: boolean;
}

/** Defaults of `tether probe`. */
export const PROBE_DEFAULTS = {
  durationMs: 30_000,
  pingIntervalMs: 5_000,
  connectTimeoutMs: 10_000,
  /** Ping timeout in `--raw` mode, and in Tether mode before a welcome announced one. */
  pingTimeoutMs: 10_000,
} as const;

export const PROBE_USAGE = `Usage: tether probe URL [options]

Connects to URL, holds the connection and reports connect time, RTT over time,
messages and heartbeats. On a close it prints the close code, its meaning and the
likely cause. Exit status: 0 healthy, 1 unhealthy, 2 usage error.

Options:
  --duration <d>        how long to hold the connection (default 30s; e.g. 90s, 2m)
  --ping-interval <d>   measure RTT this often (default 5s); 0 sends nothing, so the link
                        stays as idle as the server's heartbeats leave it (use it to
                        reproduce proxy idle timeouts)
  --ping-timeout <d>    a ping unanswered this long, with no other traffic, is a dead link
                        (default: the server's heartbeat timeout, 10s in --raw mode)
  --connect-timeout <d> upgrade + welcome deadline (default 10s)
  --max-rtt <d>         unhealthy when the 99th percentile RTT is above this
  --raw                 any WebSocket server: no Tether handshake, RTT from WebSocket pings
  --subprotocol <name>  subprotocol to offer in --raw mode (comma-separated list)
  --token <token>       auth token (sent as the tether.auth subprotocol; Bearer header in --raw)
  --json                print one JSON report on stdout instead of text
  -h, --help            show this help`;

const SPECS = {
  duration: { kind: 'duration', min: 1, max: 7 * 86_400_000 },
  'ping-interval': { kind: 'duration', min: 0, max: 86_400_000 },
  'ping-timeout': { kind: 'duration', min: 1, max: 86_400_000 },
  'connect-timeout': { kind: 'duration', min: 1, max: 3_600_000 },
  'max-rtt': { kind: 'duration', min: 0, max: 3_600_000 },
  raw: { kind: 'bool' },
  subprotocol: { kind: 'string' },
  token: { kind: 'string' },
  json: { kind: 'bool' },
} as const;

/** Parses the arguments after `probe`; throws a {@link UsageError} naming the flag. */
export function parseProbeArgs(argv: readonly string[]): ProbeArgs {
  const flags = new FlagValues(parseFlags(argv, SPECS));
  const base = {
    durationMs: flags.num('duration', PROBE_DEFAULTS.durationMs),
    pingIntervalMs: flags.num('ping-interval', PROBE_DEFAULTS.pingIntervalMs),
    pingTimeoutMs: flags.optionalNum('ping-timeout'),
    connectTimeoutMs: flags.num('connect-timeout', PROBE_DEFAULTS.connectTimeoutMs),
    maxRttMs: flags.optionalNum('max-rtt'),
    raw: flags.bool('raw'),
    subprotocols: (flags.optionalStr('subprotocol') ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== ''),
    token: flags.optionalStr('token'),
    json: flags.bool('json'),
    help: flags.help,
  };
  if (flags.help) return { url: '', ...base };
  if (flags.positionals.length > 1) {
    throw new UsageError(`expected one URL, got ${flags.positionals.length} arguments`);
  }
  if (base.subprotocols.length > 0 && !base.raw) {
    throw new UsageError('--subprotocol: only with --raw (Tether mode offers tether.v1)');
  }
  return { url: checkWsUrl(flags.positionals[0], 'URL'), ...base };
}
