import { formatDuration } from '@tether/common';
import { CHAOS_DEFAULTS, type ChaosAuditArgs, parseChaosArgs } from '../chaos/args.js';
import { runChaosAudit } from '../chaos/audit.js';
import { describeFaults } from '../chaos/verdict.js';
import { type CheckResult, runCheck } from './check.js';

/**
 * Faults through the chaos proxy: the `tether chaos` audit with its default faults
 * (latency with jitter, random resets, half-open stalls, periodic cuts). Clean or FAIL.
 */
export function chaosCheck(options: { clients: number; durationMs: number }): Promise<CheckResult> {
  const args: ChaosAuditArgs = {
    ...(parseChaosArgs([]) as ChaosAuditArgs),
    clients: options.clients,
    durationMs: options.durationMs,
  };
  return runCheck(
    'chaos',
    `${options.clients} clients for ${formatDuration(options.durationMs)} through resets, stalls, cuts and latency`,
    async (check) => {
      const v = await runChaosAudit(args);
      const o = v.observations;
      const h = v.halfOpen;
      check
        .number('faults', describeFaults(v.faults))
        .number('publications delivered', `${o.publications.delivered}/${o.publications.expected}`)
        .number('sends processed', `${o.sends.delivered}/${o.sends.expected}`)
        .number('lost', o.publications.lost + o.sends.lost)
        .number('duplicated', o.publications.duplicated + o.sends.duplicated)
        .number('reordered', o.publications.reordered + o.sends.reordered)
        .number('reconnects', o.reconnects)
        .number(
          'half-open detection (client / server, max)',
          h.stalls === 0
            ? 'no stall happened'
            : `${h.clientMaxMs === null ? 'n/a' : formatDuration(h.clientMaxMs)} / ${h.serverMaxMs === null ? 'n/a' : formatDuration(h.serverMaxMs)} over ${h.stalls} stalls`,
        );
      for (const problem of v.problems) check.fail(problem);
      check.note(
        `heartbeat ${formatDuration(CHAOS_DEFAULTS.heartbeatIntervalMs)} + ${formatDuration(CHAOS_DEFAULTS.heartbeatTimeoutMs)} on the audit hub; circuit breaker off and backoff capped at 2 s in the audit clients`,
      );
    },
  );
}
