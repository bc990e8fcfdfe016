import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';

/**
 * The machine-level programs some suites need (installed by `scripts/ensure-system-deps.mjs`
 * from the Debian packages named here), by the name tests use to ask for them.
 */
export const SYSTEM_DEPS = {
  'redis-server': { path: '/usr/bin/redis-server', debianPackage: 'redis-server' },
  chromium: { path: '/usr/bin/chromium', debianPackage: 'chromium' },
  'python3-websockets': { path: '/usr/bin/python3', debianPackage: 'python3-websockets' },
  /** `python3 -m venv` (Debian splits ensurepip out of python3): the Python client's and the FastAPI example's virtualenvs. */
  'python3-venv': { path: '/usr/bin/python3', debianPackage: 'python3-venv' },
  prometheus: { path: '/usr/bin/prometheus', debianPackage: 'prometheus' },
  promtool: { path: '/usr/bin/promtool', debianPackage: 'prometheus' },
  /** Socket statistics: bench:compare's backlog check reads a listening socket's queue. */
  ss: { path: '/usr/bin/ss', debianPackage: 'iproute2' },
} as const;

/** Name of a system dependency, see {@link SYSTEM_DEPS}. */
export type SystemDep = keyof typeof SYSTEM_DEPS;

/** Raised when a suite needs a program that is not installed. Never retryable. */
export class SystemDepMissingError extends Error {
  override readonly name = 'SystemDepMissingError';
  readonly code = 'TESTKIT_SYSTEM_DEP_MISSING';
  readonly retryable = false;

  constructor(readonly dep: SystemDep) {
    const { path, debianPackage } = SYSTEM_DEPS[dep];
    super(
      `${dep} is not installed (${path}); install the Debian package: ` +
        `apt-get install -y ${debianPackage} (npm test's pretest step does this when run as root)`,
    );
  }
}

const presence = new Map<SystemDep, boolean>();

/** Whether `dep` is installed and usable. Checked once per process, then cached. */
export function hasSystemDep(dep: SystemDep): boolean {
  let present = presence.get(dep);
  if (present === undefined) {
    present = probe(dep);
    presence.set(dep, present);
  }
  return present;
}

/**
 * For `describe.skipIf(systemDepMissing('redis-server'))`: returns `false` when `dep` is
 * installed. When it is missing, throws {@link SystemDepMissingError} under `CI=true` (a CI
 * run must not pass by skipping its Redis or browser suites), and otherwise prints a loud
 * SKIPPED warning and returns `true`, so a developer without the package can still run the
 * rest of the suite.
 */
export function systemDepMissing(dep: SystemDep): boolean {
  if (hasSystemDep(dep)) return false;
  const error = new SystemDepMissingError(dep);
  if (isCi()) throw error;
  const bar = '!'.repeat(78);
  console.warn(`\n${bar}\n!!  SKIPPED: ${error.message}\n${bar}\n`);
  return true;
}

/** Throws {@link SystemDepMissingError} when `dep` is not installed. */
export function requireSystemDep(dep: SystemDep): void {
  if (!hasSystemDep(dep)) throw new SystemDepMissingError(dep);
}

function probe(dep: SystemDep): boolean {
  const { path } = SYSTEM_DEPS[dep];
  try {
    accessSync(path, constants.X_OK);
  } catch {
    return false;
  }
  // Debian's python3 has `venv` without pip's bootstrap: python3-venv adds `ensurepip`.
  const module = { 'python3-websockets': 'websockets', 'python3-venv': 'ensurepip' }[
    dep as 'python3-websockets' | 'python3-venv'
  ];
  if (module === undefined) return true;
  const result = spawnSync(path, ['-c', `import ${module}`], { stdio: 'ignore', timeout: 15_000 });
  return result.status === 0;
}

/** Whether this is a CI run (`CI` set, and not to '', '0' or 'false'): a missing dependency fails it. */
export function isCi(): boolean {
  const value = process.env.CI;
  return value !== undefined && value !== '' && value !== '0' && value.toLowerCase() !== 'false';
}
