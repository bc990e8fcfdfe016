import { type Clock, checkClock, checkInt, checkKnownKeys, OptionError } from '@tether/common';
import { SERVER_DEFAULTS } from './defaults.js';
import { defaultLogger, type Logger } from './logger.js';
import { DAY_MS } from './options.js';
import type { StoreSpec } from './store/index.js';
import { resolveTrustedProxies, type TrustedProxies } from './trusted-proxies.js';

/** Options of `new TetherServer(options)`. Every field is optional. */
export interface TetherServerOptions {
  /**
   * An existing HTTP(S) server to attach to (plain Node, Express's `app.listen()`, Fastify's
   * `fastify.server`). Without it, the server runs standalone and `listen()` starts its own.
   */
  server?: import('node:http').Server | import('node:https').Server;
  /** Standalone mode: port. Default 8080. 0 picks a free port (see `address()`). */
  port?: number;
  /** Standalone mode: interface. Default `0.0.0.0`. */
  host?: string;
  /** Logger (pino or compatible). Default: pino at `info`, silent under a test runner. */
  logger?: Logger;
  /** Time source for heartbeats, limits and timestamps. Default: the system clock. */
  clock?: Clock;
  /**
   * The proxies you run, as IPv4/IPv6 addresses and CIDR ranges (`["127.0.0.1",
   * "10.0.0.0/8", "::1"]`). When the socket peer is one of them, the client IP is the
   * rightmost `X-Forwarded-For` entry that is not (entries further left are written by
   * the client and may be forged); an entry that is not an IP ends the walk at the last
   * trusted hop. Default `[]` (also `false`): the socket's address. `true` is refused.
   */
  trustProxy?: readonly string[] | false;
  /** Default of `close({ drainTimeoutMs })`. Default 10 000 ms. */
  drainTimeoutMs?: number;
  /**
   * Graceful shutdown: clients asked back per second at most. A `close()` without
   * `retrySpreadMs` spreads the hints over max(4 s, connections / this). Default 1 000.
   */
  restartReconnectRate?: number;
  /**
   * Standalone mode: time a client has to send complete request headers before it gets
   * 408 and is cut (also before a WebSocket upgrade). Default 10 000 ms. With `server`,
   * set `headersTimeout` on your own server instead.
   */
  headersTimeoutMs?: number;
  /** Standalone mode: time to receive a whole request (≥ `headersTimeoutMs`). Default 10 000 ms. */
  requestTimeoutMs?: number;
  /**
   * Where sessions, their unacknowledged messages and topic histories live:
   * - `'memory'` (default): in this process; lost on restart (resumes then get
   *   `resumed: false, reason: 'unknown'` and topics start a new epoch);
   * - `'sqlite:PATH'`: a SQLite file that survives a restart and a SIGKILL;
   * - `{ kind: 'memory' | 'sqlite', ...retention options }`;
   * - a `Store` object (the application owns it and closes it after the server).
   *
   * A store built from a string or `{ kind }` is owned by the server: `close()` closes
   * it. See docs/guarantees.md for what each mode promises.
   */
  store?: StoreSpec;
}

/** Server options with defaults applied. */
export interface ResolvedServerOptions {
  server: import('node:http').Server | import('node:https').Server | undefined;
  port: number;
  host: string;
  logger: Logger;
  clock: Clock;
  trustProxy: TrustedProxies;
  drainTimeoutMs: number;
  restartReconnectRate: number;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  store: StoreSpec;
}

const SERVER_KEYS = [
  'server',
  'port',
  'host',
  'logger',
  'clock',
  'trustProxy',
  'drainTimeoutMs',
  'restartReconnectRate',
  'headersTimeoutMs',
  'requestTimeoutMs',
  'store',
] as const satisfies readonly (keyof TetherServerOptions)[];

/** Applies defaults and validates; throws an `OptionError` naming the option. */
export function resolveServerOptions(options: TetherServerOptions = {}): ResolvedServerOptions {
  checkKnownKeys('TetherServer', options, SERVER_KEYS);
  if (options.server !== undefined && (options.port !== undefined || options.host !== undefined)) {
    throw new OptionError(
      'server',
      'pass either an existing server or port/host for a standalone server, not both (the attached server decides where it listens)',
    );
  }
  for (const name of ['headersTimeoutMs', 'requestTimeoutMs'] as const) {
    if (options.server !== undefined && options[name] !== undefined) {
      throw new OptionError(
        name,
        'applies to the standalone server only; set headersTimeout/requestTimeout on the server you pass',
      );
    }
  }
  const headersTimeoutMs = checkInt(
    'headersTimeoutMs',
    options.headersTimeoutMs ?? SERVER_DEFAULTS.headersTimeoutMs,
    100,
    DAY_MS,
  );
  const requestTimeoutMs = checkInt(
    'requestTimeoutMs',
    options.requestTimeoutMs ?? SERVER_DEFAULTS.requestTimeoutMs,
    100,
    DAY_MS,
  );
  if (requestTimeoutMs < headersTimeoutMs) {
    throw new OptionError(
      'requestTimeoutMs',
      `must be at least headersTimeoutMs (${headersTimeoutMs}), got ${requestTimeoutMs}`,
    );
  }
  const server = options.server;
  if (server !== undefined && (typeof server !== 'object' || typeof server.on !== 'function')) {
    throw new OptionError('server', 'expected a node:http or node:https Server');
  }
  const host = options.host ?? SERVER_DEFAULTS.host;
  if (typeof host !== 'string' || host.length === 0) {
    throw new OptionError('host', `expected a non-empty string, got ${String(options.host)}`);
  }
  const logger = options.logger ?? defaultLogger();
  for (const method of ['debug', 'info', 'warn', 'error', 'child'] as const) {
    if (typeof logger[method] !== 'function') {
      throw new OptionError('logger', `expected a pino-compatible logger (missing ${method}())`);
    }
  }
  const clock = checkClock('clock', options.clock);
  return {
    server,
    port: checkInt('port', options.port ?? SERVER_DEFAULTS.port, 0, 65_535),
    host,
    logger,
    clock,
    trustProxy: resolveTrustedProxies(options.trustProxy),
    drainTimeoutMs: checkInt(
      'drainTimeoutMs',
      options.drainTimeoutMs ?? SERVER_DEFAULTS.drainTimeoutMs,
      0,
      DAY_MS,
    ),
    restartReconnectRate: checkInt(
      'restartReconnectRate',
      options.restartReconnectRate ?? SERVER_DEFAULTS.restartReconnectRate,
      1,
      1_000_000,
    ),
    headersTimeoutMs,
    requestTimeoutMs,
    store: options.store ?? 'memory',
  };
}
