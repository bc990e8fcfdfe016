/**
 * @tether/testkit — the real-world parts Tether's tests run against.
 *
 * Real sockets on port 0, a real Redis, a real Chromium, a real Prometheus, and (re-exported
 * from `@tether/fault-proxy`) a TCP proxy that injects the faults real networks have
 * (latency, throttling, half-open stalls, resets). Waits always have deadlines. Every helper returns a way to undo
 * itself; call it in `afterEach`/`afterAll`.
 *
 * @example
 * ```ts
 * const proxy = await createFaultProxy({ target: { host: '127.0.0.1', port: serverPort } });
 * const ws = new WebSocket(`ws://127.0.0.1:${proxy.port}/`);
 * await once(ws, 'open');
 * proxy.pause(); // half-open: no byte, FIN or error reaches either side
 * await waitFor(() => heartbeatMissed, { timeoutMs: 10_000, message: 'dead link detected' });
 * proxy.resume();
 * proxy.resetAll(); // both sides see a reset
 * await once(ws, 'close');
 * await proxy.close();
 * ```
 *
 * @packageDocumentation
 */

export {
  createFaultProxy,
  type FaultProxy,
  type FaultProxyOptions,
  type FaultProxyTraffic,
} from '@tether/fault-proxy';
export { type BundleSourcesOptions, bundleSources, type SourceBundle } from './bundle.js';
export {
  CHROMIUM_ARGS,
  type ChromiumHandle,
  type LaunchChromiumOptions,
  launchChromium,
} from './chromium.js';
export { type PacedOptions, paced } from './paced.js';
export { type BoundAddress, getFreePort, type ListenableServer, listenOnPort0 } from './port.js';
export {
  type PrometheusAlertRule,
  type PrometheusInstance,
  type PrometheusSample,
  type StartPrometheusOptions,
  startPrometheus,
} from './prometheus.js';
export { pythonVenv, VenvUnavailableError } from './python-venv.js';
export { type RedisInstance, type StartRedisOptions, startRedis } from './redis.js';
export { type RunCommandOptions, runCommand } from './run-command.js';
export { type MakeStore, runStoreContract, type StoreFactory } from './store-contract.js';
export { optionError, type StoreFiles, storeFiles } from './stores.js';
export {
  hasSystemDep,
  isCi,
  requireSystemDep,
  SYSTEM_DEPS,
  type SystemDep,
  SystemDepMissingError,
  systemDepMissing,
} from './system-deps.js';
export { type TempDir, tempDir } from './temp.js';
export {
  DEFAULT_WAIT_INTERVAL_MS,
  DEFAULT_WAIT_TIMEOUT_MS,
  type EventEmitterLike,
  once,
  receivedUntilClose,
  TestTimeoutError,
  type WaitForOptions,
  waitFor,
  withTimeout,
} from './wait.js';
