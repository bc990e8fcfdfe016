/**
 * @tether/cli — the `tether` command: `tether serve` (starts the hub of `@tether/hub`)
 * and the measuring tools (`probe`, `bench`, `chaos`, `stability`). `bin/tether.js`
 * calls {@link main}.
 *
 * @packageDocumentation
 */
import {
  type CliIo,
  ConfigError,
  handleShutdownSignals,
  processLines,
  type ResolvedConfig,
  resolveHubConfig,
  type ServeHandle,
  type SignalSource,
  startHub,
} from '@tether/hub';
import { parseServeArgs, SERVE_USAGE, USAGE, UsageError } from './args.js';
import { runTool, TOOLS_USAGE } from './tools.js';

export { parseServeArgs, SERVE_USAGE, type ServeArgs, USAGE, UsageError } from './args.js';

/** What {@link main} talks to; defaults to the real process. Tests inject their own. */
export interface MainDeps {
  io?: CliIo;
  env?: Readonly<Record<string, string | undefined>>;
  signals?: SignalSource;
  /** Ends the process at once (a second signal during the drain). */
  exit?: (code: number) => void;
  /** Called with the running hub once it listens (tests use it to connect). */
  onServing?: (handle: ServeHandle) => void;
  /** Working directory (config file, relative paths). Default `process.cwd()`. */
  cwd?: string;
}

/**
 * Runs the CLI with `argv` (without `node` and the script). Resolves with the exit
 * status: 0 after a clean run (for `serve`: after a signal and a completed drain),
 * 2 for a usage error (the message names the flag), 1 when the server cannot start.
 */
export async function main(argv: readonly string[], deps: MainDeps = {}): Promise<number> {
  const io = deps.io ?? processLines();
  const [command, ...rest] = argv;
  if (command === undefined) {
    io.stderr(USAGE);
    return 2;
  }
  if (command === '-h' || command === '--help' || command === 'help') {
    io.stdout(`${USAGE}\n\n${TOOLS_USAGE}`);
    return 0;
  }
  const tool = runTool(command, rest, { io, signals: deps.signals ?? process });
  if (tool !== undefined) return tool;
  if (command !== 'serve') {
    io.stderr(`tether: unknown command "${command}"\n\n${USAGE}\n\n${TOOLS_USAGE}`);
    return 2;
  }
  const usage = (message: string): number => {
    io.stderr(`tether serve: ${message}\nRun "tether serve --help" for the options.`);
    return 2;
  };
  let args: ReturnType<typeof parseServeArgs>;
  try {
    args = parseServeArgs(rest);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    return usage(err.message);
  }
  if (args.help) {
    io.stdout(SERVE_USAGE);
    return 0;
  }
  let resolved: ResolvedConfig;
  try {
    resolved = resolveHubConfig({
      flags: args.flags,
      ...(args.configPath === undefined ? {} : { configPath: args.configPath }),
      env: deps.env ?? process.env,
      ...(deps.cwd === undefined ? {} : { cwd: deps.cwd }),
    });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return usage(err.message);
  }
  let handle: ServeHandle;
  try {
    handle = await startHub(resolved.config, {
      io,
      warnings: resolved.warnings,
      ...(resolved.file === undefined ? {} : { configFile: resolved.file }),
    });
  } catch (err) {
    if (err instanceof ConfigError) return usage(err.message);
    io.stderr(`tether serve: cannot start: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
  const disposeSignals = handleShutdownSignals(
    handle,
    deps.signals ?? process,
    io,
    deps.exit ?? ((code) => process.exit(code)),
  );
  deps.onServing?.(handle);
  await handle.closed;
  disposeSignals();
  io.stderr('tether: stopped');
  return 0;
}
