import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';

/**
 * Core pinning for bench:compare: the measured server on a core of its own, the load
 * generators on the others, so the server's CPU figures are not mixed with the clients'
 * scheduling (on two cores, unpinned, whole runs of the same tree differed by more than
 * a change measured). Linux only, through `taskset` (util-linux).
 */

/** `auto`: pin where the machine can (Linux, 2+ cores, taskset); `on`: pin or fail; `off`. */
export type PinMode = 'auto' | 'on' | 'off';

export const PIN_MODES: readonly PinMode[] = ['auto', 'on', 'off'];

/** The cores each side runs on, as taskset's `-c` lists. */
export interface CorePlan {
  /** The measured server: the last core. */
  server: string;
  /** The load generators: every other core. */
  load: string;
}

/** The `taskset` command, or null when it does not run here. */
function tasksetCommand(): string | null {
  if (process.platform !== 'linux') return null;
  const probe = spawnSync('taskset', ['--version'], { stdio: 'ignore' });
  return probe.status === 0 ? 'taskset' : null;
}

/**
 * The plan for `mode` on a machine with `cores` cores and `taskset` (null: none; default:
 * this machine's). `auto` gives undefined (no pinning) where pinning is not possible;
 * `on` throws there, with the reason.
 */
export function corePlan(
  mode: PinMode,
  cores = availableParallelism(),
  taskset = tasksetCommand(),
): CorePlan | undefined {
  if (mode === 'off') return undefined;
  const missing =
    cores < 2
      ? `pinning needs 2 or more cores (this machine has ${cores})`
      : taskset === null
        ? 'pinning needs taskset (util-linux) on Linux'
        : undefined;
  if (missing !== undefined) {
    if (mode === 'on') throw new Error(`--pin on: ${missing}`);
    return undefined;
  }
  const last = cores - 1;
  return { server: String(last), load: last === 1 ? '0' : `0-${last - 1}` };
}

/**
 * `fork()` options that start the child on `cores` (a taskset list; undefined: anywhere):
 * taskset runs node in its own place, so the child keeps its pid, its IPC channel and
 * its arguments, and every thread it starts runs on those cores.
 */
export function pinnedFork(
  cores: string | undefined,
  execArgv: readonly string[] = [],
): { execPath?: string; execArgv: string[] } {
  if (cores === undefined) return { execArgv: [...execArgv] };
  return { execPath: 'taskset', execArgv: ['-c', cores, process.execPath, ...execArgv] };
}
