import { type Command, EXIT } from '../command.js';
import {
  BENCH_USAGE,
  type BenchArgs,
  parseBenchArgs,
  type ScenarioName,
  sourceAddresses,
  workersFor,
} from './args.js';
import { type BenchHub, canForkHub, type HubChoice, startBenchHub } from './hub.js';
import type { BenchServerOptions } from './hub-server.js';
import { describeMachine, type MachineInfo, machineInfo } from './machine.js';
import { type ClientPool, LocalPool } from './pool.js';
import { Progress } from './progress.js';
import type { Scenario, ScenarioResult } from './scenario.js';
import { echoScenario } from './scenarios/echo.js';
import { fanoutScenario } from './scenarios/fanout.js';
import { idleScenario } from './scenarios/idle.js';
import { stormScenario } from './scenarios/storm.js';
import { formatTable, formatValue } from './table.js';
import { WorkerPool } from './worker-pool.js';

/** Everything a bench run reports (what `--json` prints). */
export interface BenchReport {
  startedAt: string;
  machine: MachineInfo;
  target: { kind: BenchHub['kind']; url: string };
  workers: number;
  scenarios: ScenarioResult[];
  /** True when no scenario reported a failure. */
  ok: boolean;
}

const SCENARIO_RUNNERS: Record<ScenarioName, Scenario> = {
  idle: idleScenario,
  fanout: fanoutScenario,
  echo: echoScenario,
  storm: stormScenario,
};

/** Runs the scenarios of `args` and returns the report. */
export async function runBench(args: BenchArgs, progress: Progress): Promise<BenchReport> {
  const startedAt = new Date().toISOString();
  const machine = machineInfo();
  const mode = args.hub ?? (canForkHub() ? 'child' : 'in-process');
  const server: BenchServerOptions = { host: args.host, port: 0, store: args.store ?? 'memory' };
  const choice: HubChoice = { url: args.url, opsKey: args.opsKey, mode, server };
  const workers = workersFor(args);
  const sharedScenarios = args.scenarios.filter((s) => s !== 'storm');
  const hub = sharedScenarios.length > 0 ? await startBenchHub(choice) : undefined;
  let pool: ClientPool | undefined;
  const results: ScenarioResult[] = [];
  try {
    pool = workers > 0 ? await WorkerPool.start(workers) : new LocalPool();
    const target = hub?.url ?? args.url ?? '';
    for (const name of args.scenarios) {
      const scenarioHub = hub ?? (await startBenchHub(choice));
      try {
        results.push(
          await SCENARIO_RUNNERS[name]({
            args,
            hub: scenarioHub,
            pool,
            adapter: 'tether',
            addresses: sourceAddresses(target === '' ? scenarioHub.url : target, args.addresses),
            progress,
            startBenchHub: (overrides: Partial<BenchServerOptions>) =>
              startBenchHub({
                ...choice,
                url: undefined,
                server: { ...server, ...overrides, port: 0 },
              }),
          }),
        );
      } catch (err) {
        results.push({
          scenario: name,
          metrics: [],
          failures: [`the scenario failed: ${err instanceof Error ? err.message : String(err)}`],
          notes: [],
        });
        await pool.closeAll().catch(() => {});
      } finally {
        if (scenarioHub !== hub) await scenarioHub.close();
      }
    }
  } finally {
    progress.clear();
    await pool?.closeAll().catch(() => {});
    if (pool instanceof WorkerPool) await pool.stop();
    await hub?.close();
  }
  return {
    startedAt,
    machine,
    target: { kind: args.url === undefined ? mode : 'external', url: args.url ?? hub?.url ?? '' },
    workers,
    scenarios: results,
    ok: results.every((r) => r.failures.length === 0),
  };
}

/** The report as a table plus notes and failures. */
export function formatBenchReport(report: BenchReport): string[] {
  const rows: Array<[string, string, string]> = [];
  for (const result of report.scenarios) {
    result.metrics.forEach((m, i) => {
      rows.push([i === 0 ? result.scenario : '', m.label, formatValue(m.value, m.unit)]);
    });
    rows.push([
      result.metrics.length === 0 ? result.scenario : '',
      'result',
      result.failures.length === 0 ? 'PASS' : 'FAIL',
    ]);
  }
  const lines = [
    `tether bench: ${report.target.kind} hub ${report.target.url}${report.workers > 0 ? `, ${report.workers} client workers` : ''}`,
    `machine: ${describeMachine(report.machine)}`,
    '',
    ...formatTable(['scenario', 'metric', 'value'], rows),
  ];
  for (const result of report.scenarios) {
    for (const curve of result.series ?? []) {
      lines.push(`curve (${result.scenario}) ${curve.label}: ${curve.values.join(' ')}`);
    }
    for (const note of result.notes) lines.push(`note (${result.scenario}): ${note}`);
    for (const failure of result.failures) lines.push(`FAIL (${result.scenario}): ${failure}`);
  }
  lines.push(report.ok ? 'result: PASS' : 'result: FAIL');
  return lines;
}

/** `tether bench ARGS`: 0 when every scenario ran clean, 1 on any failure, 2 on usage errors. */
export const benchCommand: Command<BenchArgs> = {
  name: 'bench',
  summary: 'load scenarios: idle connections, fan-out, echo latency, reconnect storm',
  usage: BENCH_USAGE,
  parse: parseBenchArgs,
  async run(args, { io }) {
    const progress = args.json ? Progress.silent() : Progress.forStderr();
    let report: BenchReport;
    try {
      report = await runBench(args, progress);
    } catch (err) {
      io.stderr(`tether bench: ${err instanceof Error ? err.message : String(err)}`);
      return EXIT.failed;
    }
    if (args.json) io.stdout(JSON.stringify(report, null, 2));
    else for (const line of formatBenchReport(report)) io.stdout(line);
    return report.ok ? EXIT.ok : EXIT.failed;
  },
};
