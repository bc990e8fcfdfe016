import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stopChild, tailOutput, trackUntilExit } from './child.js';
import { getFreePort } from './port.js';
import { requireSystemDep, SYSTEM_DEPS } from './system-deps.js';

/** One series of an instant query (`/api/v1/query`, result type vector). */
export interface PrometheusSample {
  metric: Record<string, string>;
  /** `[unix seconds, value as text]`. */
  value: [number, string];
}

/** An alerting rule as `/api/v1/rules` reports it. */
export interface PrometheusAlertRule {
  name: string;
  type: 'alerting';
  state: 'inactive' | 'pending' | 'firing';
  health: 'ok' | 'err' | 'unknown';
  lastError?: string;
  /** RFC 3339 time of the last evaluation. */
  lastEvaluation: string;
  alerts: Array<{ labels: Record<string, string>; state: 'pending' | 'firing' }>;
}

/** A throwaway Prometheus server owned by the test that started it. */
export interface PrometheusInstance {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  /** An instant query; rejects with Prometheus' error (a bad expression, ...). */
  query(expr: string): Promise<PrometheusSample[]>;
  /** Every alerting rule of every loaded group, with its state. */
  alertRules(): Promise<PrometheusAlertRule[]>;
  /** The last lines Prometheus logged, for failure messages. */
  output(): string;
  /** Stops the server (SIGTERM, then SIGKILL after 5 s) and resolves once it has exited. */
  stop(): Promise<void>;
}

/** Options of {@link startPrometheus}. */
export interface StartPrometheusOptions {
  /** The text of prometheus.yml. Relative `rule_files` are read from {@link dir}. */
  config: string;
  /** A directory of the test's own (see `tempDir`): prometheus.yml and the TSDB go there. */
  dir: string;
  /** Give up if `/-/ready` does not answer 200 within this long; default 20000 ms. */
  startTimeoutMs?: number;
}

const HOST = '127.0.0.1';
/** Port races (see getFreePort) are retried this many times. */
const START_ATTEMPTS = 3;

/**
 * Starts `/usr/bin/prometheus` (Debian package prometheus) on a free loopback port with
 * `config`, its TSDB under `dir`, and resolves once it is ready to serve queries.
 *
 * Throws {@link SystemDepMissingError} if prometheus is not installed; suites that want to
 * skip instead guard with `describe.skipIf(systemDepMissing('prometheus'))`.
 */
export async function startPrometheus(
  options: StartPrometheusOptions,
): Promise<PrometheusInstance> {
  requireSystemDep('prometheus');
  const configFile = join(options.dir, 'prometheus.yml');
  await writeFile(configFile, options.config);
  let lastError: unknown;
  for (let attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
    try {
      return await startOnce(options, configFile, attempt);
    } catch (err) {
      lastError = err;
      // Only a lost port race is worth another try; anything else will fail the same way.
      if (!(err instanceof Error && /address already in use/i.test(err.message))) break;
    }
  }
  throw lastError;
}

async function startOnce(
  options: StartPrometheusOptions,
  configFile: string,
  attempt: number,
): Promise<PrometheusInstance> {
  const port = await getFreePort(HOST);
  const storage = join(options.dir, `data-${attempt}`);
  await mkdir(storage, { recursive: true });
  const child = spawn(
    SYSTEM_DEPS.prometheus.path,
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${storage}`,
      `--web.listen-address=${HOST}:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], cwd: options.dir },
  );
  trackUntilExit(child);
  const output = tailOutput(child);
  let earlyExit: string | undefined;
  child.once('exit', (code, signal) => {
    earlyExit = `exited (code ${code}, signal ${signal})`;
  });
  child.once('error', (err) => {
    earlyExit = `failed to spawn: ${err.message}`;
  });

  const url = `http://${HOST}:${port}`;
  const api = async <T>(path: string, params: Record<string, string> = {}): Promise<T> => {
    const query = new URLSearchParams(params).toString();
    const response = await fetch(`${url}/api/v1/${path}${query === '' ? '' : `?${query}`}`, {
      signal: AbortSignal.timeout(5000),
    });
    const body = (await response.json()) as { status: string; data: T; error?: string };
    if (body.status !== 'success') {
      throw new Error(`prometheus /api/v1/${path}: ${body.error ?? response.status}`);
    }
    return body.data;
  };
  const instance: PrometheusInstance = {
    url,
    port,
    query: async (expr) =>
      (await api<{ resultType: string; result: PrometheusSample[] }>('query', { query: expr }))
        .result,
    alertRules: async () =>
      (
        await api<{ groups: Array<{ rules: PrometheusAlertRule[] }> }>('rules', { type: 'alert' })
      ).groups.flatMap((group) => group.rules),
    output,
    stop: () => stopChild(child),
  };

  const timeoutMs = options.startTimeoutMs ?? 20_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (earlyExit !== undefined) {
      throw new Error(`prometheus on port ${port} ${earlyExit} before it was ready:\n${output()}`);
    }
    if (await ready(url)) return instance;
    if (Date.now() >= deadline) {
      await stopChild(child);
      throw new Error(
        `prometheus on port ${port} was not ready within ${timeoutMs} ms:\n${output()}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Whether `/-/ready` answers 200 (the TSDB is open and queries are served). Never rejects. */
async function ready(url: string): Promise<boolean> {
  try {
    const response = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) });
    await response.arrayBuffer();
    return response.status === 200;
  } catch {
    return false;
  }
}
