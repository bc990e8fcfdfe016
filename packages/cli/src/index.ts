/**
 * @tether/cli — the `tether` command: `tether serve` (starts the hub of `@tether/hub`)
 * and the measuring tools (`probe`, `bench`, `chaos`, `stability`). `bin/tether.js`
 * calls {@link main}.
 *
 * @packageDocumentation
 */

import { processLines } from '@tether/hub';
import { type CommandDeps, EXIT, runCommand } from './command.js';
import { COMMANDS, USAGE } from './commands.js';

export { parseServeArgs, SERVE_USAGE, type ServeArgs, UsageError } from './args.js';
export { type Command, type CommandDeps, EXIT, runCommand } from './command.js';
export { COMMANDS, USAGE } from './commands.js';

/** What {@link main} talks to; defaults to the real process. Tests inject their own. */
export type MainDeps = Partial<CommandDeps>;

/**
 * Runs the CLI with `argv` (without `node` and the script). Resolves with the exit
 * status ({@link EXIT}): 0 after a clean run (for `serve`: after a signal and a completed
 * drain), 2 for a usage error (the message names the flag), 1 when the run failed.
 */
export async function main(argv: readonly string[], deps: MainDeps = {}): Promise<number> {
  const io = deps.io ?? processLines();
  const [name, ...rest] = argv;
  if (name === undefined) {
    io.stderr(USAGE);
    return EXIT.usage;
  }
  if (name === '-h' || name === '--help' || name === 'help') {
    io.stdout(USAGE);
    return EXIT.ok;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (command === undefined) {
    io.stderr(`tether: unknown command "${name}"\n\n${USAGE}`);
    return EXIT.usage;
  }
  return runCommand(command, rest, { ...deps, io, signals: deps.signals ?? process });
}
