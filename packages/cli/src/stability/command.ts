import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { type Command, EXIT } from '../command.js';
import { FlagValues, parseFlags, UsageError } from '../flags.js';
import { checkVerdict, formatStabilityTable, renderStabilityMarkdown } from './report.js';
import {
  runStability,
  STABILITY_CHECKS,
  STABILITY_DEFAULTS,
  type StabilityOptions,
  type SuiteCheck,
} from './suite.js';

/** What `tether stability` was asked to do. */
export interface StabilityArgs {
  options: StabilityOptions;
  /** The checks to run (`--only`; all of them by default), in the suite's order. */
  checks: readonly SuiteCheck[];
  /** Where the Markdown report goes. */
  reportPath: string;
  json: boolean;
  help: boolean;
}

export const STABILITY_USAGE = `Usage: tether stability [options]

Runs the stability suite honestly: long-lived connections under load, endpoints,
concurrency, a restart, chaos, kernel faults in network namespaces. Prints a PASS/FAIL table with numbers, writes a Markdown
report, and exits 0 only when every check passed (1 otherwise, 2 on usage errors).

Options:
  --long-lived <d>      how long the long-lived check holds its connections (default 3m)
  --report <path>       Markdown report (default ./stability-report.md)
  --hub child|in-process where servers that must restart run (default child)
  --only <checks>       run only these checks, comma-separated (${STABILITY_CHECKS.map((c) => c.name).join(', ')})
  --quick               shrink every check to seconds: for tests of the suite, never a claim
  --json                print the report as JSON
  -h, --help            show this help`;

const SPECS = {
  'long-lived': { kind: 'duration', min: 1_000, max: 7 * 86_400_000 },
  report: { kind: 'string' },
  hub: { kind: 'string', choices: ['child', 'in-process'] },
  only: { kind: 'string' },
  quick: { kind: 'bool' },
  json: { kind: 'bool' },
} as const;

/** The sizes of `--quick`: seconds instead of minutes. */
const QUICK: Partial<StabilityOptions> = {
  longLivedMs: 6_000,
  longLivedClients: 5,
  heartbeatIntervalMs: 1_000,
  heartbeatTimeoutMs: 3_000,
  endpointClients: 2,
  concurrentClients: 10,
  publications: 50,
  sendsPerClient: 5,
  restartClients: 5,
  chaosClients: 4,
  chaosDurationMs: 3_000,
  // The black hole and the flap still outlast interval + timeout + 1 s (1 s + 3 s + 1 s):
  // shorter ones would not have to be detected.
  netnsClients: 5,
  netnsLossMs: 3_000,
  netnsBlackHoleMs: 6_000,
  netnsFlapMs: 6_000,
};

/** Parses the arguments after `stability`; throws a {@link UsageError} naming the flag. */
export function parseStabilityArgs(argv: readonly string[], cwd = process.cwd()): StabilityArgs {
  const f = new FlagValues(parseFlags(argv, SPECS));
  if (f.positionals.length > 0 && !f.help) {
    throw new UsageError(`unexpected argument "${f.positionals[0]}" (stability takes none)`);
  }
  const options: StabilityOptions = {
    ...STABILITY_DEFAULTS,
    ...(f.bool('quick') ? QUICK : {}),
  };
  options.longLivedMs = f.num('long-lived', options.longLivedMs);
  options.hub = f.str<'child' | 'in-process'>('hub', options.hub);
  return {
    options,
    checks: parseOnly(f.str('only', '')),
    reportPath: resolve(cwd, f.str('report', 'stability-report.md')),
    json: f.bool('json'),
    help: f.help,
  };
}

/** `--only a,b`: the named checks in the suite's order; every name must be a check. */
function parseOnly(value: string): readonly SuiteCheck[] {
  if (value === '') return STABILITY_CHECKS;
  const names = value.split(',').map((name) => name.trim());
  const known = STABILITY_CHECKS.map((c) => c.name);
  const unknown = names.filter((name) => !known.includes(name));
  if (unknown.length > 0 || names.length === 0) {
    throw new UsageError(
      `--only: unknown check "${unknown[0] ?? value}" (checks: ${known.join(', ')})`,
    );
  }
  return STABILITY_CHECKS.filter((c) => names.includes(c.name));
}

/** `tether stability`: 0 only when every check passed. */
export const stabilityCommand: Command<StabilityArgs> = {
  name: 'stability',
  summary: 'the stability suite: long-lived, endpoints, concurrency, restart, chaos, netns',
  usage: STABILITY_USAGE,
  parse: (argv) => parseStabilityArgs(argv),
  async run(args, { io }) {
    const report = await runStability(
      args.options,
      (check) => {
        if (!args.json) io.stderr(`stability: ${check.name} ${checkVerdict(check)}`);
      },
      args.checks,
    );
    writeFileSync(args.reportPath, renderStabilityMarkdown(report));
    if (args.json) io.stdout(JSON.stringify(report, null, 2));
    else {
      for (const line of formatStabilityTable(report)) io.stdout(line);
      io.stdout(`report: ${args.reportPath}`);
    }
    return report.pass ? EXIT.ok : EXIT.failed;
  },
};
