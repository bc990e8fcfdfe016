import { benchCommand } from './bench/run.js';
import { chaosCommand } from './chaos/command.js';
import type { Command } from './command.js';
import { probeCommand } from './probe.js';
import { serveCommand } from './serve-command.js';
import { soakCommand } from './soak/command.js';
import { stabilityCommand } from './stability/command.js';

/** Every subcommand of `tether`, in the order `tether --help` lists them. */
export const COMMANDS: ReadonlyArray<Command<{ help: boolean }>> = [
  serveCommand,
  probeCommand,
  benchCommand,
  chaosCommand,
  stabilityCommand,
  soakCommand,
];

/** `tether --help`. */
export const USAGE = `Usage: tether <command> [options]

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(8)} ${c.summary}`).join('\n')}

Options:
  -h, --help    show this help

Run "tether <command> --help" for the options of a command.`;
