import { canForkHub } from '../bench/hub.js';
import { type MachineInfo, machineInfo } from '../bench/machine.js';
import { chaosCheck } from './chaos-check.js';
import type { CheckResult } from './check.js';
import { concurrencyCheck } from './concurrency-check.js';
import { endpointsCheck } from './endpoints-check.js';
import { longLivedCheck } from './long-lived-check.js';
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
  hub: 'child',
};

export interface StabilityReport {
  startedAt: string;
  finishedAt: string;
  machine: MachineInfo;
  options: StabilityOptions;
  checks: CheckResult[];
  passed: number;
  /** True only when every check passed. */
  pass: boolean;
}

/**
 * Runs the suite: the long-lived check starts first and holds its connections while the
 * others run one after another (so "long-lived" costs no extra wall time and is measured
 * under load); the report lists every check, and passes only when all of them pass.
 */
export async function runStability(
  options: StabilityOptions = STABILITY_DEFAULTS,
  onCheckDone: (result: CheckResult) => void = () => {},
): Promise<StabilityReport> {
  const startedAt = new Date().toISOString();
  const machine = machineInfo();
  const hub = options.hub === 'child' && !canForkHub() ? 'in-process' : options.hub;
  const done = (result: CheckResult): CheckResult => {
    onCheckDone(result);
    return result;
  };
  const longLived = longLivedCheck({
    durationMs: options.longLivedMs,
    clients: options.longLivedClients,
    heartbeatIntervalMs: options.heartbeatIntervalMs,
    heartbeatTimeoutMs: options.heartbeatTimeoutMs,
    hub,
  }).then(done);
  const checks: CheckResult[] = [];
  checks.push(done(await endpointsCheck(options.endpointClients)));
  checks.push(
    done(
      await concurrencyCheck({
        clients: options.concurrentClients,
        publications: options.publications,
        sendsPerClient: options.sendsPerClient,
      }),
    ),
  );
  checks.push(done(await restartCheck({ clients: options.restartClients, hub })));
  checks.push(
    done(await chaosCheck({ clients: options.chaosClients, durationMs: options.chaosDurationMs })),
  );
  checks.splice(2, 0, await longLived);
  const passed = checks.filter((c) => c.pass).length;
  return {
    startedAt,
    finishedAt: new Date().toISOString(),
    machine,
    options: { ...options, hub },
    checks,
    passed,
    pass: passed === checks.length,
  };
}
