import { parseDuration, TetherError } from '@tether/common';

/** A command line the CLI cannot run; the message names the flag. Exit status 2. */
export class UsageError extends TetherError {
  override name = 'UsageError';

  constructor(message: string) {
    super('USAGE', message, { retryable: false });
  }
}

/** What `tether serve` was asked to do. */
export interface ServeArgs {
  /** 0 picks a free port. Default 8080, or the PORT environment variable. */
  port: number;
  /** Default `0.0.0.0`. */
  host: string;
  /** Only `memory` for now. */
  store: 'memory';
  heartbeatIntervalMs: number | undefined;
  heartbeatTimeoutMs: number | undefined;
  help: boolean;
}

export const SERVE_DEFAULTS = { port: 8080, host: '0.0.0.0', store: 'memory' } as const;

export const SERVE_USAGE = `Usage: tether serve [options]

Runs the Tether hub: a WebSocket endpoint at /ws and GET /healthz.

Options:
  --port <n>                 port to listen on (default 8080, or $PORT; 0 = any free port)
  --host <addr>              interface to bind (default 0.0.0.0)
  --store <kind>             session and topic store: memory (default; more arrive later)
  --heartbeat-interval <d>   heartbeat period, e.g. 25s or 500ms (default 25s)
  --heartbeat-timeout <d>    silence past interval + this closes a connection (default 10s)
  -h, --help                 show this help

SIGTERM or SIGINT drains connections (goodbye + close 1012) and exits 0.`;

export const USAGE = `Usage: tether <command> [options]

Commands:
  serve    run the Tether hub (tether serve --help for its options)

Options:
  -h, --help    show this help`;

const VALUE_FLAGS = [
  '--port',
  '--host',
  '--store',
  '--heartbeat-interval',
  '--heartbeat-timeout',
] as const;
type ValueFlag = (typeof VALUE_FLAGS)[number];

/** Smallest heartbeat interval or timeout the server accepts. */
const MIN_HEARTBEAT_MS = 10;
/** Largest one (a day). */
const MAX_HEARTBEAT_MS = 86_400_000;

/**
 * Parses the arguments after `serve`. Accepts `--flag value` and `--flag=value`; the
 * last occurrence of a flag wins. Throws a {@link UsageError} naming the flag.
 */
export function parseServeArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>> = {},
): ServeArgs {
  const values = new Map<ValueFlag, string>();
  let help = false;
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] as string;
    if (arg === '-h' || arg === '--help') {
      help = true;
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq === -1 ? arg : arg.slice(0, eq);
    if (!(VALUE_FLAGS as readonly string[]).includes(name)) {
      throw new UsageError(
        arg.startsWith('-')
          ? `unknown option ${name}`
          : `unexpected argument "${arg}" (serve takes no arguments)`,
      );
    }
    let value: string | undefined;
    if (eq !== -1) value = arg.slice(eq + 1);
    else {
      value = argv[i + 1];
      if (value === undefined || (value.startsWith('--') && value.length > 2)) {
        throw new UsageError(`${name} needs a value`);
      }
      i += 1;
    }
    values.set(name as ValueFlag, value);
  }
  if (help) {
    return {
      ...SERVE_DEFAULTS,
      heartbeatIntervalMs: undefined,
      heartbeatTimeoutMs: undefined,
      help,
    };
  }
  return {
    port: parsePort(values.get('--port') ?? env.PORT, values.has('--port') ? '--port' : 'PORT'),
    host: parseHost(values.get('--host')),
    store: parseStore(values.get('--store')),
    heartbeatIntervalMs: parseHeartbeat(values.get('--heartbeat-interval'), '--heartbeat-interval'),
    heartbeatTimeoutMs: parseHeartbeat(values.get('--heartbeat-timeout'), '--heartbeat-timeout'),
    help,
  };
}

function parsePort(value: string | undefined, what: string): number {
  if (value === undefined || value === '') return SERVE_DEFAULTS.port;
  if (!/^\d+$/.test(value) || Number(value) > 65_535) {
    throw new UsageError(`${what}: expected a port number 0-65535, got "${value}"`);
  }
  return Number(value);
}

function parseHost(value: string | undefined): string {
  if (value === undefined) return SERVE_DEFAULTS.host;
  if (value.trim() === '' || /\s/.test(value))
    throw new UsageError(`--host: expected an address, got "${value}"`);
  return value;
}

function parseStore(value: string | undefined): 'memory' {
  if (value === undefined || value === 'memory') return 'memory';
  throw new UsageError(`--store: only "memory" is supported in this version, got "${value}"`);
}

function parseHeartbeat(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  let ms: number;
  try {
    ms = parseDuration(value, flag);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (ms < MIN_HEARTBEAT_MS || ms > MAX_HEARTBEAT_MS) {
    throw new UsageError(`${flag}: must be between ${MIN_HEARTBEAT_MS}ms and 24h, got "${value}"`);
  }
  return ms;
}
