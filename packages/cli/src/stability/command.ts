import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parseDuration } from '@tether/common';
import type { CliIo } from '@tether/hub';
import { formatStabilityTable, renderStabilityMarkdown } from './report.js';
import { runStability, STABILITY_DEFAULTS, type StabilityOptions } from './suite.js';

/** `tether stability --help`. */
export const STABILITY_USAGE = `Usage: tether stability [options]

Runs the stability suite (long-lived connections, endpoints, concurrency, restarts,
chaos) and prints a PASS/FAIL table with numbers; exits 1 unless every check passed.

Options:
  --long-lived DURATION   length of the long-lived check (default ${STABILITY_DEFAULTS.longLivedMs / 60_000}m)
  --report PATH           where the Markdown report goes (default ./stability-report.md)
  --json                  print the report as JSON instead of the table
  --hub child|in-process  where the hub under test runs (default ${STABILITY_DEFAULTS.hub})
  --quick                 every check shrunk to seconds: for tests of the suite itself,
                          never a stability claim
  -h, --help              this text`;

/** --quick: seconds instead of minutes. */
const QUICK: Partial<StabilityOptions> = {
  longLivedMs: 6_000,
  longLivedClients: 5,
  heartbeatIntervalMs: 500,
  heartbeatTimeoutMs: 500,
  endpointClients: 2,
  concurrentClients: 10,
  publications: 50,
  sendsPerClient: 5,
  restartClients: 5,
  chaosClients: 4,
  chaosDurationMs: 3_000,
};

/** `tether stability ARGS`: 0 when every check passed, 1 otherwise, 2 on usage errors. */
export async function stabilityCommand(
  argv: readonly string[],
  deps: { io: CliIo; cwd?: string },
): Promise<number> {
  const { io } = deps;
  let values: {
    'long-lived'?: string;
    report?: string;
    json?: boolean;
    quick?: boolean;
    hub?: string;
    help?: boolean;
  };
  const options: StabilityOptions = { ...STABILITY_DEFAULTS };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        'long-lived': { type: 'string' },
        report: { type: 'string' },
        json: { type: 'boolean' },
        quick: { type: 'boolean' },
        hub: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
    if (values.quick === true) Object.assign(options, QUICK);
    if (values['long-lived'] !== undefined) {
      options.longLivedMs = parseDuration(values['long-lived'], '--long-lived');
    }
    if (values.hub !== undefined) {
      if (values.hub !== 'child' && values.hub !== 'in-process') {
        throw new Error(`--hub must be child or in-process, not ${JSON.stringify(values.hub)}`);
      }
      options.hub = values.hub;
    }
  } catch (err) {
    io.stderr(
      `tether stability: ${err instanceof Error ? err.message : String(err)}\nRun "tether stability --help" for the options.`,
    );
    return 2;
  }
  if (values.help === true) {
    io.stdout(STABILITY_USAGE);
    return 0;
  }
  const reportPath = resolve(deps.cwd ?? process.cwd(), values.report ?? 'stability-report.md');
  const report = await runStability(options, (check) => {
    if (values.json !== true) io.stderr(`stability: ${check.name} ${check.pass ? 'PASS' : 'FAIL'}`);
  });
  writeFileSync(reportPath, renderStabilityMarkdown(report));
  if (values.json === true) io.stdout(JSON.stringify(report, null, 2));
  else {
    for (const line of formatStabilityTable(report)) io.stdout(line);
    io.stdout(`report: ${reportPath}`);
  }
  return report.pass ? 0 : 1;
}
