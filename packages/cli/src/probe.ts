import { formatDuration } from '@tether/common';
import type { CliIo, SignalSource } from '@tether/hub';
import { type Command, type CommandDeps, EXIT, onStopSignals } from './command.js';
import { PROBE_USAGE, type ProbeArgs, parseProbeArgs } from './probe-args.js';
import { type ProbeEvent, runProbeConnection } from './probe-connection.js';
import {
  buildProbeReport,
  fmtMs,
  formatProbeOpen,
  formatProbeSummary,
  type ProbeReport,
} from './probe-report.js';

/** What `tether probe` needs from its surroundings. */
export interface ProbeDeps {
  io: CliIo;
  /** SIGINT/SIGTERM end the probe early (the report marks it interrupted). */
  signals?: SignalSource;
}

/**
 * Runs a probe and returns its report. Text mode streams lines to `io.stdout` while it
 * runs; JSON mode writes nothing until the caller prints the report.
 */
export async function probe(
  args: ProbeArgs,
  io: CliIo,
  signal?: AbortSignal,
): Promise<ProbeReport> {
  const onEvent = args.json ? undefined : (event: ProbeEvent) => io.stdout(formatEvent(event));
  if (!args.json) {
    io.stdout(
      `tether probe ${args.url} (${args.raw ? 'raw WebSocket' : 'tether.v1'}) for ${formatDuration(args.durationMs)}${args.pingIntervalMs > 0 ? `, ping every ${formatDuration(args.pingIntervalMs)}` : ', passive'}`,
    );
  }
  const record = await runProbeConnection(args, {
    ...(onEvent === undefined ? {} : { onEvent }),
    ...(signal === undefined ? {} : { signal }),
  });
  return buildProbeReport(args, record);
}

function formatEvent(event: ProbeEvent): string {
  switch (event.type) {
    case 'open':
      return formatProbeOpen(event.record);
    case 'rtt':
      return `  ${formatDuration(event.sample.atMs).padStart(7)}  rtt ${fmtMs(event.sample.rttMs)}`;
    case 'ping-timeout':
      return `  ${formatDuration(event.atMs).padStart(7)}  ping unanswered`;
    case 'goodbye':
      return `  goodbye from the server: ${event.code} "${event.reason}"${event.retryAfter === undefined ? '' : `, retry after ${event.retryAfter} ms`}`;
  }
}

/** `tether probe URL`: exit status 0 healthy, 1 unhealthy, 2 usage error. */
export const probeCommand: Command<ProbeArgs> = {
  name: 'probe',
  summary: 'connect to any WebSocket server, hold the connection, report RTT and the close',
  usage: PROBE_USAGE,
  parse: parseProbeArgs,
  run: runProbe,
};

/** Probes until the connection ends or SIGINT/SIGTERM stops it; prints the report. */
async function runProbe(args: ProbeArgs, deps: CommandDeps): Promise<number> {
  const { io } = deps;
  const controller = new AbortController();
  const stopListening = onStopSignals(deps.signals, () => controller.abort());
  try {
    const report = await probe(args, io, controller.signal);
    if (args.json) io.stdout(JSON.stringify(report, null, 2));
    else for (const line of formatProbeSummary(report)) io.stdout(line);
    return report.healthy ? EXIT.ok : EXIT.failed;
  } finally {
    stopListening();
  }
}
