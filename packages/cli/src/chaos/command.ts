import type { CliIo, SignalSource } from '@tether/hub';
import { UsageError } from '../args.js';
import { CHAOS_USAGE, type ChaosArgs, parseChaosArgs } from './args.js';
import { runChaosAudit } from './audit.js';
import { runChaosProxy } from './proxy-command.js';
import { formatChaosVerdict } from './verdict.js';

/** `tether chaos ARGS`: 0 for a clean verdict (or a finished proxy run), 1 otherwise, 2 on usage errors. */
export async function chaosCommand(
  argv: readonly string[],
  deps: { io: CliIo; signals?: SignalSource },
): Promise<number> {
  const { io } = deps;
  let args: ChaosArgs;
  try {
    args = parseChaosArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.stderr(`tether chaos: ${err.message}\nRun "tether chaos --help" for the options.`);
    return 2;
  }
  if (args.help) {
    io.stdout(CHAOS_USAGE);
    return 0;
  }
  if (args.mode === 'proxy') return runChaosProxy(args, io, deps.signals);
  try {
    const verdict = await runChaosAudit(args, (phase) => {
      if (!args.json) io.stderr(`chaos: ${phase}`);
    });
    if (args.json) io.stdout(JSON.stringify(verdict, null, 2));
    else for (const line of formatChaosVerdict(verdict)) io.stdout(line);
    return verdict.clean ? 0 : 1;
  } catch (err) {
    io.stderr(`tether chaos: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
}
