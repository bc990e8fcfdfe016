import type { CliIo, SignalSource } from '@tether/hub';
import { benchCommand } from './bench/run.js';
import { chaosCommand } from './chaos/command.js';
import { probeCommand } from './probe.js';
import { stabilityCommand } from './stability/command.js';

/**
 * The measuring tools of the CLI (`probe`, `bench`, `chaos`, `stability`), dispatched from `main`
 * next to `serve`. Each parses its own flags and returns its exit status.
 */

/** The lines `tether --help` adds for the tools. */
export const TOOLS_USAGE = `Tools:
  probe    connect to any WebSocket server, hold the connection, report RTT and the close
  bench    load scenarios: idle connections, fan-out, echo latency, reconnect storm
  chaos    a fault proxy (latency, cuts, stalls) and an audit of loss, duplicates, order
  stability  the stability suite: PASS/FAIL with numbers, a Markdown report`;

/** What the tools need from `main`. */
export interface ToolDeps {
  io: CliIo;
  signals?: SignalSource;
}

type ToolCommand = (argv: readonly string[], deps: ToolDeps) => Promise<number>;

const TOOLS: Readonly<Record<string, ToolCommand>> = {
  probe: probeCommand,
  bench: benchCommand,
  chaos: chaosCommand,
  stability: stabilityCommand,
};

/** Runs `command` when it is a tool; undefined when it is not one. */
export function runTool(
  command: string,
  argv: readonly string[],
  deps: ToolDeps,
): Promise<number> | undefined {
  const tool = Object.hasOwn(TOOLS, command) ? TOOLS[command] : undefined;
  return tool?.(argv, deps);
}
