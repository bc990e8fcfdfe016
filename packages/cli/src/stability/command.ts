import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { type Command, EXIT } from '../command.js';
import { FlagValues, parseFlags, UsageError } from '../flags.js';
import { formatStabilityTable, renderStabilityMarkdown } from './report.js';
import { runStability, STABILITY_DEFAULTS, type StabilityOptions } from './suite.js';

/** What `tether stability` was asked to do. */
export interface StabilityArgs {
  options: StabilityOptions;
  /** Where the Markdown report goes. */
  reportPath: string;
  json: boolean;
  help: boolean;
}

export const STABILITY_USAGE = `Usage: tether stability [options]

Runs the stability suite honestly: long-lived connections under load, endpoints,
concurrency, a restart, chaos. Prints a PASS/FAIL table with numbers, writes a Markdown
report, and exits 0 only when every check passed (1 otherwise, 2 on usage errors).

Options:
  --long-lived <d>      how long the long-lived check holds its connections (default 3m)
  --report <path>       Markdown report (default ./stability-report.md)
  --hub child|in-process where servers that must restart run (default child)
  --quick               shrink every check to seconds: for tests of the suite, never a claim
  --json                print the report as JSON
  -h, --help            show this help`;

const SPECS = {
  'long-lived': { kind: 'duration', min: 1_000, max: 7 * 86_400_000 },
  report: { kind: 'string' },
  hub: { kind: 'string', choices: ['child', 'in-process'] },
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
    reportPath: resolve(cwd, f.str('report', 'stability-report.md')),
    json: f.bool('json'),
    help: f.help,
  };
}

/** `tether stability`: 0 only when every check passed. */
export const stabilityCommand: Command<StabilityArgs> = {
  name: 'stability',
  summary: 'the stability suite: long-lived, endpoints, concurrency, restart, chaos',
  usage: STABILITY_USAGE,
  parse: (argv) => parseStabilityArgs(argv),
  async run(args, { io }) {
    const report = await runStability(args.options, (check) => {
      if (!args.json) io.stderr(`stability: ${check.name} ${check.pass ? 'PASS' : 'FAIL'}`);
    });
    writeFileSync(args.reportPath, renderStabilityMarkdown(report));
    if (args.json) io.stdout(JSON.stringify(report, null, 2));
    else {
      for (const line of formatStabilityTable(report)) io.stdout(line);
      io.stdout(`report: ${args.reportPath}`);
    }
    return report.pass ? EXIT.ok : EXIT.failed;
  },
};
