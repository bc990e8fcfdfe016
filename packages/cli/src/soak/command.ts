import { type Command, EXIT } from '../command.js';
import { FlagValues, parseFlags, UsageError } from '../flags.js';
import { runSoak, SOAK_DEFAULTS, type SoakOptions, type SoakResult } from './run.js';

/** What `tether soak` was asked to do. */
export interface SoakArgs {
  options: SoakOptions;
  help: boolean;
}

export const SOAK_USAGE = `Usage: tether soak [options]

Runs connect -> hello -> subscribe -> receive -> reliable send -> disconnect cycles
against a server child while a publisher keeps messages flowing, until --cycles or
--duration is reached. Measures the idle server after a full GC once after the warm-up
and once at the end: RSS and heap must be within --tolerance of the baseline, and
connections, sessions, subscriptions, handshakes, handlers and handles back to zero.
Prints a JSON summary; exits 0 when every bound held, 1 otherwise (2 on usage errors).

Options:
  --duration <d>      stop after this long, warm-up included (default 2m)
  --cycles <n>        stop after this many cycles, warm-up included (default 50000)
  --concurrency <n>   cycles in parallel (default 50)
  --warmup <n>        cycles before the baseline, at most a fifth of --cycles (default 2000)
  --store memory|sqlite  the server's store (default memory; sqlite: a temp file)
  --resume-window <d> the server's resume window (default 1s)
  --tolerance <pct>   allowed RSS and heap growth over the baseline, percent (default 10)
  -h, --help          show this help`;

const SPECS = {
  duration: { kind: 'duration', min: 1_000, max: 7 * 86_400_000 },
  cycles: { kind: 'int', min: 10, max: 100_000_000 },
  concurrency: { kind: 'int', min: 1, max: 10_000 },
  warmup: { kind: 'int', min: 1, max: 100_000_000 },
  store: { kind: 'string', choices: ['memory', 'sqlite'] },
  'resume-window': { kind: 'duration', min: 100, max: 600_000 },
  tolerance: { kind: 'number', min: 0, max: 1_000 },
} as const;

/** Parses the arguments after `soak`; throws a {@link UsageError} naming the flag. */
export function parseSoakArgs(argv: readonly string[]): SoakArgs {
  const f = new FlagValues(parseFlags(argv, SPECS));
  if (f.positionals.length > 0 && !f.help) {
    throw new UsageError(`unexpected argument "${f.positionals[0]}" (soak takes none)`);
  }
  const d = SOAK_DEFAULTS;
  const options: SoakOptions = {
    ...d,
    durationMs: f.num('duration', d.durationMs),
    cycles: f.num('cycles', d.cycles),
    concurrency: f.num('concurrency', d.concurrency),
    warmupCycles: f.num('warmup', d.warmupCycles),
    resumeWindowMs: f.num('resume-window', d.resumeWindowMs),
    memoryTolerance: f.num('tolerance', d.memoryTolerance * 100) / 100,
    store: f.str<'memory' | 'sqlite'>('store', d.store),
  };
  return { options, help: f.help };
}

/** The JSON summary: the verdict, the numbers, and each failed bound with its reason. */
export function soakSummary(result: SoakResult): Record<string, unknown> {
  const mib = (bytes: number): number => Math.round((bytes / 1_048_576) * 10) / 10;
  return {
    ok: result.ok,
    cycles: result.cycles,
    failedCycles: result.failedCycles,
    cyclesPerS: result.cyclesPerS,
    measuredS: Math.round(result.elapsedS * 10) / 10,
    rssMiB: { baseline: mib(result.baseline.rssBytes), end: mib(result.end.rssBytes) },
    heapMiB: { baseline: mib(result.baseline.heapUsedBytes), end: mib(result.end.heapUsedBytes) },
    publications: result.end.published,
    registries: {
      connections: result.end.connections,
      sessions: result.end.sessions,
      storedSessions: result.end.storedSessions,
      subscriptions: result.end.subscriptions,
      pendingHandshakes: result.end.pendingHandshakes,
      inFlight: result.end.inFlight,
      resources: result.end.resources,
    },
    failed: result.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`),
    checks: result.checks,
    failures: result.failures,
  };
}

/** `tether soak`: 0 when every bound held. */
export const soakCommand: Command<SoakArgs> = {
  name: 'soak',
  summary: 'connect/subscribe/disconnect cycles for minutes: memory and registries must return',
  usage: SOAK_USAGE,
  parse: (argv) => parseSoakArgs(argv),
  async run(args, { io }) {
    let result: SoakResult;
    try {
      result = await runSoak(args.options, (line) => io.stderr(`soak: ${line}`));
    } catch (err) {
      // The server child did not start or died: a failed soak with its reason, not a trace.
      const reason = err instanceof Error ? err.message : String(err);
      io.stdout(JSON.stringify({ ok: false, failed: [`soak: ${reason}`] }, null, 2));
      return EXIT.failed;
    }
    io.stdout(JSON.stringify(soakSummary(result), null, 2));
    return result.ok ? EXIT.ok : EXIT.failed;
  },
};
