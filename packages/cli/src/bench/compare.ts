import { PROTOCOL_DEFAULTS } from '@tether/protocol';
import { type CorePlan, corePlan, type PinMode } from './affinity.js';
import { type BenchArgs, parseBenchArgs } from './args.js';
import type { CompareKey } from './compare-report.js';
import { startChildHub } from './hub.js';
import type { AdapterSpec } from './load-adapter.js';
import { type MachineInfo, machineInfo } from './machine.js';
import { type ClientPool, LocalPool } from './pool.js';
import { Progress } from './progress.js';
import type { ScenarioContext, ScenarioResult } from './scenario.js';
import { echoScenario } from './scenarios/echo.js';
import { fanoutScenario } from './scenarios/fanout.js';
import { heartbeatScenario } from './scenarios/heartbeat.js';
import { idleScenario } from './scenarios/idle.js';
import { WorkerPool } from './worker-pool.js';

/**
 * Tether against raw `ws` (plain, and pre-framed/corked/batched) and Socket.IO in one run
 * (`npm run bench:compare`): the same scenarios, payloads and client counts for each;
 * each server in a child process of its own (its CPU measured with `process.cpuUsage()`,
 * its memory after a full GC); the load clients in worker processes spread over
 * 127.0.0.x source addresses. Scenarios run interleaved (idle for each server, then
 * heartbeat for each, ...), so slow drifts in machine load spread over all of them; with
 * `repeat` > 1 the whole round runs again and each figure is the median.
 */

/** One server under comparison. */
export interface CompareTarget {
  name: string;
  version: string;
  /** Its server child entry: speaks the bench hub's IPC commands (publish, usage, gc, close). */
  entry: string;
  adapter: AdapterSpec;
  /** Runs only these scenarios (its figures for the others read n/a); default: all. */
  scenarios?: readonly CompareKey[];
}

/** The sizes bench:compare hands to the bench scenarios, as `tether bench` has them. */
const SCENARIO_SIZES = [
  'connections',
  'subscribers',
  'batch',
  'payloadBytes',
  'echoClients',
  'echoRate',
  'warmupMs',
  'durationMs',
] as const;

/**
 * The scenario sizes (`connections`: the idle and heartbeat connections; `batch`: the
 * publications per burst of the burst fan-out, the other fan-out publishes one per turn),
 * then what only bench:compare has.
 */
export interface CompareOptions extends Pick<BenchArgs, (typeof SCENARIO_SIZES)[number]> {
  /** The heartbeat scenario's interval (every server pings each connection this often). */
  heartbeatIntervalMs: number;
  /**
   * Every server's dead-connection rule in the heartbeat scenario: a connection silent
   * this long past an interval is cut (Tether: `heartbeatTimeoutMs`; ws: the same rule in
   * its interval; Socket.IO: `pingTimeout`), so all of them keep the same connections.
   */
  heartbeatTimeoutMs: number;
  /** Rounds; each figure is the median of its rounds. */
  repeat: number;
  /** Load-generator processes (0: the clients run in this process). */
  workers: number;
  /** Loopback source addresses (127.0.0.1 .. 127.0.0.N). */
  addresses: number;
  /** Only these scenarios (a partial run, for profiling one figure); default: all. */
  only?: readonly CompareKey[];
  /**
   * Core pinning in the scenarios that measure server CPU (heartbeat, fan-out, echo): the
   * server on the last core, the load workers on the others. The idle scenario is never
   * pinned: its connect rate is the whole machine's (on two cores the load clients spend
   * more per connect than the server, so a rate on one client core would measure them).
   */
  pin: PinMode;
}

export const COMPARE_DEFAULTS: CompareOptions = {
  connections: 10_000,
  subscribers: 1_000,
  batch: 20,
  payloadBytes: 64,
  echoClients: 100,
  echoRate: 10,
  heartbeatIntervalMs: 1_000,
  heartbeatTimeoutMs: PROTOCOL_DEFAULTS.heartbeatTimeoutMs,
  // V8 compiles a server's hot paths in its first seconds of load: with 1 s, half of
  // Tether's echo CPU in the window was the optimizing compiler (perf: TurboFan frames on
  // top), and a larger code base pays more of it. Steady state is what a server runs in.
  warmupMs: 5_000,
  durationMs: 5_000,
  repeat: 1,
  workers: 3,
  addresses: 8,
  pin: 'auto',
};

/** The numbers of one server: each figure's value in every round. */
export interface TargetNumbers {
  name: string;
  version: string;
  /** Medians over the rounds. */
  values: Record<string, number | null>;
  rounds: Record<string, Array<number | null>>;
  failures: string[];
}

export interface CompareReport {
  startedAt: string;
  finishedAt: string;
  machine: MachineInfo;
  /** Load averages at the end (the start is in `machine`). */
  loadAfter: [number, number, number];
  options: CompareOptions;
  /** The cores of the pinned scenarios; undefined: nothing was pinned. */
  cores?: CorePlan;
  /** The scenarios run, in order, each with its name and whether it ran pinned. */
  placement: ScenarioPlacement[];
  targets: TargetNumbers[];
}

/** A scenario of a run: its key, its name in the report, whether it ran under the core plan. */
export interface ScenarioPlacement {
  key: CompareKey;
  name: string;
  pinned: boolean;
}

type Run = (ctx: ScenarioContext) => Promise<ScenarioResult>;

interface CompareScenario {
  key: CompareKey;
  name: string;
  /** What the server child gets. */
  server: object;
  run: Run;
  /** Whether it runs pinned (under a core plan). */
  pinned: boolean;
}

/** The compared scenarios: key prefix, what the server child gets, how the run is sized. */
function scenarios(o: CompareOptions): CompareScenario[] {
  return [
    { key: 'idle', name: 'idle', server: {}, run: idleScenario, pinned: false },
    {
      key: 'heartbeat',
      name: 'heartbeat',
      pinned: true,
      server: {
        heartbeatIntervalMs: o.heartbeatIntervalMs,
        heartbeatTimeoutMs: o.heartbeatTimeoutMs,
      },
      run: (ctx) => heartbeatScenario(ctx, o.heartbeatIntervalMs),
    },
    {
      key: 'fanout1',
      name: 'fan-out one per turn',
      pinned: true,
      server: {},
      run: (ctx) => fanoutScenario({ ...ctx, args: { ...ctx.args, batch: 1 } }),
    },
    { key: 'fanout', name: 'fan-out bursts', server: {}, run: fanoutScenario, pinned: true },
    { key: 'echo', name: 'echo', server: {}, run: echoScenario, pinned: true },
  ];
}

/** The scenarios `options` runs (`only`), in order. */
function selected(options: CompareOptions): CompareScenario[] {
  return scenarios(options).filter(
    (s) => options.only === undefined || options.only.includes(s.key),
  );
}

/** The scenarios `options` runs, in order, and whether each runs under `plan`. */
export function placement(
  options: CompareOptions,
  plan: CorePlan | undefined,
): ScenarioPlacement[] {
  return selected(options).map((s) => ({
    key: s.key,
    name: s.name,
    pinned: plan !== undefined && s.pinned,
  }));
}

function benchArgs(options: CompareOptions): BenchArgs {
  const sizes = Object.fromEntries(SCENARIO_SIZES.map((key) => [key, options[key]]));
  return { ...parseBenchArgs([]), ...sizes, holdMs: 1_000 };
}

/** The median of the measured values (null when none was measured). */
export function median(values: ReadonlyArray<number | null>): number | null {
  const xs = values.filter((v): v is number => v !== null).sort((a, b) => a - b);
  if (xs.length === 0) return null;
  const mid = Math.floor(xs.length / 2);
  return xs.length % 2 === 1
    ? (xs[mid] as number)
    : ((xs[mid - 1] as number) + (xs[mid] as number)) / 2;
}

async function startPool(
  workers: number,
  cores: string | undefined,
): Promise<ClientPool & { stop?(): Promise<void> }> {
  if (workers <= 0) return new LocalPool();
  return WorkerPool.start(workers, undefined, undefined, cores);
}

/** Runs every scenario against every target, `repeat` rounds. */
export async function runComparison(
  targets: readonly CompareTarget[],
  options: CompareOptions = COMPARE_DEFAULTS,
  progress: Progress = Progress.silent(),
): Promise<CompareReport> {
  const startedAt = new Date().toISOString();
  const machine = machineInfo();
  const plan = corePlan(options.pin);
  const args = benchArgs(options);
  const addresses = Array.from(
    { length: Math.max(1, options.addresses) },
    (_, i) => `127.0.0.${i + 1}`,
  );
  const numbers: TargetNumbers[] = targets.map((t) => ({
    name: t.name,
    version: t.version,
    values: {},
    rounds: {},
    failures: [],
  }));
  for (let round = 1; round <= options.repeat; round += 1) {
    for (const scenario of selected(options)) {
      for (const [i, target] of targets.entries()) {
        if (target.scenarios !== undefined && !target.scenarios.includes(scenario.key)) continue;
        const into = numbers[i] as TargetNumbers;
        const cores = scenario.pinned ? plan : undefined;
        // A fresh pool per run: its drop and delivery counts are this run's alone.
        const pool = await startPool(options.workers, cores?.load);
        try {
          const result = await runOne(target, scenario, {
            cores: cores?.server,
            args,
            pool,
            addresses,
            progress,
            options,
            round,
          });
          for (const m of result.metrics) {
            const key = `${scenario.key}.${m.key}`;
            into.rounds[key] = [...(into.rounds[key] ?? []), m.value];
          }
          into.failures.push(
            ...result.failures.map((f) => `${scenario.key} (round ${round}): ${f}`),
          );
        } finally {
          await pool.closeAll();
          if (pool instanceof WorkerPool) await pool.stop();
        }
      }
    }
  }
  for (const n of numbers) {
    for (const [key, values] of Object.entries(n.rounds)) n.values[key] = median(values);
  }
  progress.clear();
  const after = machineInfo();
  return {
    startedAt,
    finishedAt: new Date().toISOString(),
    machine,
    loadAfter: after.loadAverage,
    options,
    ...(plan === undefined ? {} : { cores: plan }),
    placement: placement(options, plan),
    targets: numbers,
  };
}

async function runOne(
  target: CompareTarget,
  scenario: CompareScenario,
  env: {
    /** The server's cores (a taskset list); undefined: anywhere. */
    cores: string | undefined;
    args: BenchArgs;
    pool: ClientPool;
    addresses: string[];
    progress: Progress;
    options: CompareOptions;
    round: number;
  },
): Promise<ScenarioResult> {
  const { options, progress } = env;
  const hub = await startChildHub(
    { host: '127.0.0.1', port: 0, instrument: false, ...scenario.server },
    target.entry,
    env.cores,
  );
  try {
    progress.phase(
      `${target.name}: ${scenario.key}${options.repeat > 1 ? ` (round ${env.round})` : ''}`,
      options.warmupMs + options.durationMs + 3_000,
    );
    return await scenario.run({
      args: env.args,
      hub,
      pool: env.pool,
      adapter: target.adapter,
      addresses: env.addresses,
      progress,
      startBenchHub: () => Promise.reject(new Error('not used by the compared scenarios')),
    });
  } catch (err) {
    return {
      scenario: 'idle',
      metrics: [],
      failures: [`failed: ${err instanceof Error ? err.message : String(err)}`],
      notes: [],
    };
  } finally {
    await env.pool.closeAll();
    await hub.close();
  }
}
