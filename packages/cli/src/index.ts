/**
 * @tether/cli — the `tether` command. For now: `tether serve`, the hub (a standalone
 * Tether server with `/ws` and `/healthz`). `bin/tether.js` calls {@link main}.
 *
 * @packageDocumentation
 */
import { parseServeArgs, SERVE_USAGE, USAGE, UsageError } from './args.js';
import {
  type CliIo,
  handleShutdownSignals,
  type ServeHandle,
  type SignalSource,
  serve,
} from './serve.js';

export {
  parseServeArgs,
  SERVE_DEFAULTS,
  SERVE_USAGE,
  type ServeArgs,
  USAGE,
  UsageError,
} from './args.js';
export {
  type CliIo,
  HEALTH_PATH,
  handleShutdownSignals,
  type ServeHandle,
  type ServeOptions,
  type SignalSource,
  serve,
  WS_PATH,
} from './serve.js';

/** What {@link main} talks to; defaults to the real process. Tests inject their own. */
export interface MainDeps {
  io?: CliIo;
  env?: Readonly<Record<string, string | undefined>>;
  signals?: SignalSource;
  /** Ends the process at once (a second signal during the drain). */
  exit?: (code: number) => void;
  /** Called with the running hub once it listens (tests use it to connect). */
  onServing?: (handle: ServeHandle) => void;
}

/**
 * Runs the CLI with `argv` (without `node` and the script). Resolves with the exit
 * status: 0 after a clean run (for `serve`: after a signal and a completed drain),
 * 2 for a usage error (the message names the flag), 1 when the server cannot start.
 */
export async function main(argv: readonly string[], deps: MainDeps = {}): Promise<number> {
  const io = deps.io ?? {
    stdout: (line: string) => process.stdout.write(`${line}\n`),
    stderr: (line: string) => process.stderr.write(`${line}\n`),
  };
  const [command, ...rest] = argv;
  if (command === undefined) {
    io.stderr(USAGE);
    return 2;
  }
  if (command === '-h' || command === '--help' || command === 'help') {
    io.stdout(USAGE);
    return 0;
  }
  if (command !== 'serve') {
    io.stderr(`tether: unknown command "${command}"\n\n${USAGE}`);
    return 2;
  }
  let args: ReturnType<typeof parseServeArgs>;
  try {
    args = parseServeArgs(rest, deps.env ?? process.env);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.stderr(`tether serve: ${err.message}\nRun "tether serve --help" for the options.`);
    return 2;
  }
  if (args.help) {
    io.stdout(SERVE_USAGE);
    return 0;
  }
  let handle: ServeHandle;
  try {
    handle = await serve(args, io);
  } catch (err) {
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
