import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

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
  /** The measured server: the last core this process may use. */
  server: string;
  /** The load generators: every other one. */
  load: string;
}

/** The cores in a kernel CPU list (`0-3,8,10-11`). */
export function parseCpuList(list: string): number[] {
  const cpus: number[] = [];
  for (const part of list.trim().split(',')) {
    const [first, last = first] = part.split('-');
    const from = Number(first);
    const to = Number(last);
    if (first === '' || !Number.isInteger(from) || !Number.isInteger(to)) continue;
    for (let cpu = from; cpu <= to; cpu += 1) cpus.push(cpu);
  }
  return cpus;
}

/** The cores this process may run on (Linux), or none where that cannot be read. */
function allowedCpus(): number[] {
  try {
    const status = readFileSync('/proc/self/status', 'utf8');
    return parseCpuList(/^Cpus_allowed_list:\s*(\S+)$/m.exec(status)?.[1] ?? '');
  } catch {
    return [];
  }
}

/** The `taskset` command, or null when it does not run here. */
function tasksetCommand(): string | null {
  if (process.platform !== 'linux') return null;
  const probe = spawnSync('taskset', ['--version'], { stdio: 'ignore' });
  return probe.status === 0 ? 'taskset' : null;
}

/**
 * The plan for `mode` over the cores `cpus` (default: those this process may use) with
 * `taskset` (null: none; default: this machine's). `auto` gives undefined (no pinning)
 * where pinning is not possible; `on` throws there, with the reason.
 */
export function corePlan(
  mode: PinMode,
  cpus: readonly number[] = mode === 'off' ? [] : allowedCpus(),
  taskset = mode === 'off' ? null : tasksetCommand(),
): CorePlan | undefined {
  if (mode === 'off') return undefined;
  const missing =
    cpus.length < 2
      ? `pinning needs 2 or more cores (this process may use ${cpus.length})`
      : taskset === null
        ? 'pinning needs taskset (util-linux) on Linux'
        : undefined;
  if (missing !== undefined) {
    if (mode === 'on') throw new Error(`--pin on: ${missing}`);
    return undefined;
  }
  return { server: String(cpus[cpus.length - 1]), load: cpus.slice(0, -1).join(',') };
}

/**
 * `fork()` options that start the child on `cores` (a taskset list; undefined: anywhere)
 * with node's `execArgv` (default, as `fork()`'s: this process's): taskset runs node in
 * its own place, so the child keeps its pid, its IPC channel and its arguments, and
 * every thread it starts runs on those cores.
 */
export function pinnedFork(
  cores: string | undefined,
  execArgv: readonly string[] = process.execArgv,
): { execPath?: string; execArgv: string[] } {
  if (cores === undefined) return { execArgv: [...execArgv] };
  return { execPath: 'taskset', execArgv: ['-c', cores, process.execPath, ...execArgv] };
}
