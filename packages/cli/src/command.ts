import { type CliIo, ConfigError, type ServeHandle, type SignalSource } from '@tether/hub';
import { UsageError } from './flags.js';

/**
 * The one command runner of the `tether` binary: every subcommand parses its flags with
 * the same parser (flags.ts), and here a usage error becomes one line plus a hint and
 * exit status 2, `--help` prints the usage and exits 0.
 */

/** Exit statuses of every `tether` command. */
export const EXIT = {
  /** A clean run: healthy probe, clean verdict, a server stopped by a signal after draining. */
  ok: 0,
  /** The run failed: unhealthy, a failed check, a server that could not start. */
  failed: 1,
  /** The command line or the configuration is wrong (the message names the flag or key). */
  usage: 2,
} as const;

/** What a command gets from `main`; defaults are the real process. */
export interface CommandDeps {
  io: CliIo;
  signals?: SignalSource;
  env?: Readonly<Record<string, string | undefined>>;
  /** Ends the process at once (a second signal during a drain). */
  exit?: (code: number) => void;
  /** Called with the running hub once it listens (tests use it to connect). */
  onServing?: (handle: ServeHandle) => void;
  /** Working directory (config file, relative paths). Default `process.cwd()`. */
  cwd?: string;
}

/** A subcommand: `parse` throws a {@link UsageError} naming the flag; `run` returns the exit status. */
export interface Command<Args extends { help: boolean }> {
  name: string;
  /** One line of `tether --help`. */
  summary: string;
  usage: string;
  parse(argv: readonly string[]): Args;
  run(args: Args, deps: CommandDeps): Promise<number>;
}

/**
 * Calls `stop` on SIGINT or SIGTERM (the ways a person ends a running tool); the returned
 * function stops listening.
 */
export function onStopSignals(signals: SignalSource | undefined, stop: () => void): () => void {
  signals?.on('SIGINT', stop);
  signals?.on('SIGTERM', stop);
  return () => {
    signals?.off('SIGINT', stop);
    signals?.off('SIGTERM', stop);
  };
}

/** Prints a usage error the same way for every command; returns {@link EXIT.usage}. */
export function usageFailure(name: string, message: string, io: CliIo): number {
  io.stderr(`tether ${name}: ${message}\nRun "tether ${name} --help" for the options.`);
  return EXIT.usage;
}

/** Parses `argv` for `command` and runs it; usage and configuration errors exit 2. */
export async function runCommand<Args extends { help: boolean }>(
  command: Command<Args>,
  argv: readonly string[],
  deps: CommandDeps,
): Promise<number> {
  try {
    const args = command.parse(argv);
    if (args.help) {
      deps.io.stdout(command.usage);
      return EXIT.ok;
    }
    return await command.run(args, deps);
  } catch (err) {
    if (err instanceof UsageError || err instanceof ConfigError) {
      return usageFailure(command.name, err.message, deps.io);
    }
    throw err;
  }
}
