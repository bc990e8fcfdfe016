import { release } from 'node:os';
import { canForkHub } from '../bench/hub.js';
import { type MachineInfo, machineInfo } from '../bench/machine.js';
import { chaosCheck } from './chaos-check.js';
import type { CheckResult } from './check.js';
import { concurrencyCheck } from './concurrency-check.js';
import { endpointsCheck } from './endpoints-check.js';
import { longLivedCheck } from './long-lived-check.js';
import { NETNS_DEFAULTS, netnsCheck } from './netns-check.js';
import { restartCheck } from './restart-check.js';

/** Sizes of the suite. The defaults finish in about four minutes on a 2-core machine. */
export interface StabilityOptions {
  /** How long the long-lived check holds its connections (it runs alongside the others). */
  longLivedMs: number;
  longLivedClients: number;
  heartbeatIntervalMs: number;
  heartbeatTimeoutMs: number;
  endpointClients: number;
  concurrentClients: number;
  publications: number;
  sendsPerClient: number;
  restartClients: number;
  chaosClients: number;
  chaosDurationMs: number;
  /** Clients of the network-namespace check, and how long each of its faults lasts. */
  netnsClients: number;
  netnsLossMs: number;
  netnsBlackHoleMs: number;
  netnsFlapMs: number;
  /** Where servers that must restart run: `child` needs the built CLI. */
  hub: 'child' | 'in-process';
}

export const STABILITY_DEFAULTS: StabilityOptions = {
  longLivedMs: 180_000,
  longLivedClients: 50,
  heartbeatIntervalMs: 2_000,
  heartbeatTimeoutMs: 2_000,
  endpointClients: 10,
  concurrentClients: 100,
  publications: 500,
  sendsPerClient: 20,
  restartClients: 50,
  chaosClients: 20,
  chaosDurationMs: 30_000,
  netnsClients: NETNS_DEFAULTS.clients,
  netnsLossMs: NETNS_DEFAULTS.lossMs,
  netnsBlackHoleMs: NETNS_DEFAULTS.blackHoleMs,
  netnsFlapMs: NETNS_DEFAULTS.flapMs,
  hub: 'child',
};

export interface StabilityReport {
  startedAt: string;
  finishedAt: string;
  machine: MachineInfo;
  /** What the report's Environment section adds to {@link MachineInfo}. */
  environment: StabilityEnvironment;
  options: StabilityOptions;
  checks: CheckResult[];
  passed: number;
  /** True only when every check passed. */
  pass: boolean;
}

export interface StabilityEnvironment {
  /** `uname -r`. */
  kernel: string;
  /** 1-, 5- and 15-minute load averages when the suite finished. */
  loadAverageEnd: [number, number, number];
}

/** One check of the suite: how to run it with the suite's options. */
export interface SuiteCheck {
  name: string;
  /**
   * Starts before the others and runs alongside them (the long-lived hold), so it costs
   * no extra wall time and is measured under load.
   */
  background?: boolean;
  run(options: StabilityOptions): Promise<CheckResult>;
}

/** The checks of `npm run stability`, in the order the report lists them. */
export const STABILITY_CHECKS: readonly SuiteCheck[] = [
  { name: 'endpoints', run: (o) => endpointsCheck(o.endpointClients) },
  {
    name: 'concurrency',
    run: (o) =>
      concurrencyCheck({
        clients: o.concurrentClients,
        publications: o.publications,
        sendsPerClient: o.sendsPerClient,
      }),
  },
  {
    name: 'long-lived',
    background: true,
    run: (o) =>
      longLivedCheck({
        durationMs: o.longLivedMs,
        clients: o.longLivedClients,
        heartbeatIntervalMs: o.heartbeatIntervalMs,
        heartbeatTimeoutMs: o.heartbeatTimeoutMs,
        hub: o.hub,
      }),
  },
  { name: 'restart', run: (o) => restartCheck({ clients: o.restartClients, hub: o.hub }) },
  {
    name: 'chaos',
    run: (o) => chaosCheck({ clients: o.chaosClients, durationMs: o.chaosDurationMs }),
  },
  {
    name: 'netns',
    run: (o) =>
      netnsCheck({
        ...NETNS_DEFAULTS,
        clients: o.netnsClients,
        heartbeatIntervalMs: o.heartbeatIntervalMs,
        heartbeatTimeoutMs: o.heartbeatTimeoutMs,
        lossMs: o.netnsLossMs,
        blackHoleMs: o.netnsBlackHoleMs,
        flapMs: o.netnsFlapMs,
      }),
  },
];

/**
 * The verdict: the suite passes only when it ran checks and every one of them passed.
 * Never "4 of 5 is success".
 */
export function stabilityVerdict(checks: readonly CheckResult[]): {
  passed: number;
  pass: boolean;
} {
  // A skipped check (the machine cannot run it) is no pass: it never counts as one, and
  // a suite where nothing ran does not pass.
  const ran = checks.filter((c) => c.skipped === undefined);
  const passed = ran.filter((c) => c.pass).length;
  return { passed, pass: ran.length > 0 && checks.every((c) => c.pass) };
}

function thrown(name: string, err: unknown): CheckResult {
  const message = err instanceof Error ? err.message : String(err);
  return {
    name,
    what: name,
    pass: false,
    numbers: [],
    failures: [`the check itself failed: ${message}`],
    notes: [],
    durationMs: 0,
  };
}

/**
 * Runs the suite: background checks (long-lived) start first and hold their connections
 * while the others run one after another; the report lists every check in the order of
 * `checks`, and passes only when all of them pass ({@link stabilityVerdict}).
 */
export async function runStability(
  options: StabilityOptions = STABILITY_DEFAULTS,
  onCheckDone: (result: CheckResult) => void = () => {},
  checks: readonly SuiteCheck[] = STABILITY_CHECKS,
): Promise<StabilityReport> {
  const startedAt = new Date().toISOString();
  const machine = machineInfo();
  const hub = options.hub === 'child' && !canForkHub() ? 'in-process' : options.hub;
  const resolved: StabilityOptions = { ...options, hub };
  const run = (check: SuiteCheck): Promise<CheckResult> =>
    Promise.resolve()
      .then(() => check.run(resolved))
      // A check that throws past runCheck is a failed check, never a failed suite run.
      .catch((err: unknown) => thrown(check.name, err))
      .then((result) => {
        onCheckDone(result);
        return result;
      });
  const background = new Map(checks.filter((c) => c.background).map((c) => [c, run(c)]));
  const results = new Map<SuiteCheck, CheckResult>();
  for (const check of checks) {
    if (!check.background) results.set(check, await run(check));
  }
  for (const [check, result] of background) results.set(check, await result);
  const ordered = checks.map((c) => results.get(c) as CheckResult);
  return {
    startedAt,
    finishedAt: new Date().toISOString(),
    machine,
    environment: { kernel: release(), loadAverageEnd: machineInfo().loadAverage },
    options: resolved,
    checks: ordered,
    ...stabilityVerdict(ordered),
  };
}
