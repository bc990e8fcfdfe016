import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { stopChild, tailOutput, trackUntilExit } from './child.js';
import { getFreePort } from './port.js';
import { requireSystemDep, SYSTEM_DEPS } from './system-deps.js';

/** A throwaway redis-server owned by the test that started it. */
export interface RedisInstance {
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** Kills the server (SIGTERM, then SIGKILL after 5 s) and resolves once it has exited. */
  stop(): Promise<void>;
}

/** Options of {@link startRedis}. */
export interface StartRedisOptions {
  /** Give up if the server does not answer PING within this long; default 10000 ms. */
  startTimeoutMs?: number;
  /** Extra `--name value` arguments appended to the command line. */
  extraArgs?: readonly string[];
  /**
   * Listen on this port instead of a free one: a test restarting Redis "in place" (its
   * clients reconnect to the same address). Default: a free loopback port.
   */
  port?: number;
}

const HOST = '127.0.0.1';
const PING = '*1\r\n$4\r\nPING\r\n';
/** Port races (see getFreePort) are retried this many times. */
const START_ATTEMPTS = 3;

/**
 * Starts `/usr/bin/redis-server` on a free loopback port with persistence off
 * (`--save '' --appendonly no`), in the foreground, and resolves once it answers PING.
 *
 * Throws {@link SystemDepMissingError} if redis-server is not installed; suites that want to
 * skip instead guard with `describe.skipIf(systemDepMissing('redis-server'))`.
 */
export async function startRedis(options: StartRedisOptions = {}): Promise<RedisInstance> {
  requireSystemDep('redis-server');
  let lastError: unknown;
  for (let attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
    try {
      return await startOnce(options);
    } catch (err) {
      lastError = err;
      // Only a lost port race is worth another try; anything else will fail the same way.
      if (!(err instanceof Error && /address already in use/i.test(err.message))) break;
    }
  }
  throw lastError;
}

async function startOnce(options: StartRedisOptions): Promise<RedisInstance> {
  const port = options.port ?? (await getFreePort(HOST));
  // biome-ignore format: flag/value pairs read better side by side
  const args = [
    '--port', String(port),
    '--bind', HOST,
    '--save', '',
    '--appendonly', 'no',
    '--daemonize', 'no',
    ...(options.extraArgs ?? []),
  ];
  const child = spawn(SYSTEM_DEPS['redis-server'].path, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  trackUntilExit(child);

  // The tail only: it is for error messages, and redis is chatty at startup.
  const output = tailOutput(child);

  const exited = new Promise<string>((resolve) => {
    child.once('exit', (code, signal) => resolve(`exited (code ${code}, signal ${signal})`));
    child.once('error', (err) => resolve(`failed to spawn: ${err.message}`));
  });

  const timeoutMs = options.startTimeoutMs ?? 10_000;
  const deadline = Date.now() + timeoutMs;
  let earlyExit: string | undefined;
  void exited.then((why) => {
    earlyExit = why;
  });

  const instance: RedisInstance = {
    url: `redis://${HOST}:${port}`,
    host: HOST,
    port,
    stop: () => stopChild(child),
  };

  for (;;) {
    if (earlyExit !== undefined) {
      throw new Error(
        `redis-server on port ${port} ${earlyExit} before answering PING:\n${output()}`,
      );
    }
    if (await ping(HOST, port)) return instance;
    if (Date.now() >= deadline) {
      await stopChild(child);
      throw new Error(
        `redis-server on port ${port} did not answer PING within ${timeoutMs} ms:\n${output()}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** One PING over a fresh TCP connection; true on `+PONG`. Never rejects. */
function ping(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    let reply = '';
    const finish = (ok: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), 1000);
    socket.setEncoding('utf8');
    socket.once('connect', () => socket.write(PING));
    socket.on('data', (chunk: string) => {
      reply += chunk;
      // `-LOADING` and friends end in CRLF too: not ready yet, poll again.
      if (reply.includes('\r\n')) finish(reply.startsWith('+PONG'));
    });
    socket.once('error', () => finish(false));
    socket.once('close', () => finish(false));
  });
}
