import { type Command, EXIT } from '../command.js';
import { CHAOS_USAGE, type ChaosArgs, parseChaosArgs } from './args.js';
import { runChaosAudit } from './audit.js';
import { runChaosProxy } from './proxy-command.js';
import { formatChaosVerdict } from './verdict.js';

/** `tether chaos ARGS`: 0 for a clean verdict (or a finished proxy run), 1 otherwise, 2 on usage errors. */
export const chaosCommand: Command<ChaosArgs> = {
  name: 'chaos',
  summary: 'a fault proxy (latency, cuts, stalls) and an audit of loss, duplicates, order',
  usage: CHAOS_USAGE,
  parse: parseChaosArgs,
  async run(args, { io, signals }) {
    if (args.mode === 'proxy') return runChaosProxy(args, io, signals);
    try {
      const verdict = await runChaosAudit(args, (phase) => {
        if (!args.json) io.stderr(`chaos: ${phase}`);
      });
      if (args.json) io.stdout(JSON.stringify(verdict, null, 2));
      else for (const line of formatChaosVerdict(verdict)) io.stdout(line);
      return verdict.clean ? EXIT.ok : EXIT.failed;
    } catch (err) {
      io.stderr(`tether chaos: ${err instanceof Error ? err.message : String(err)}`);
      return EXIT.failed;
    }
  },
};
