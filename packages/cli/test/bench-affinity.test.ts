import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isCi, runCommand, type TempDir, tempDir, withTimeout } from '@tether/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { corePlan, parseCpuList } from '../src/bench/affinity.js';
import { COMPARE_DEFAULTS, type CompareReport, placement } from '../src/bench/compare.js';
import { renderComparisonMarkdown } from '../src/bench/compare-report.js';
import { machineInfo } from '../src/bench/machine.js';
import { WorkerPool } from '../src/bench/worker-pool.js';

/**
 * bench:compare's `--pin`: which cores each side gets, and that a child started under a
 * plan really runs there and still talks over its IPC channel.
 */

const WORKER_ENTRY = fileURLToPath(new URL('../dist/bench/worker.js', import.meta.url));
const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const CI = isCi();
const plan = corePlan('auto');
if (plan === undefined) {
  console.error(
    '\n!!! bench pinning check SKIPPED: this process cannot pin (Linux, 2+ cores it may use and taskset are needed; fails under CI=true)\n',
  );
}

/** The cores a process may run on, as the kernel lists them. */
function allowedCores(pid: number): string {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return /^Cpus_allowed_list:\s*(\S+)$/m.exec(status)?.[1] ?? '';
}

describe('corePlan', () => {
  it('puts the server on the last core this process may use and the load on the rest', () => {
    expect(corePlan('auto', [0, 1], 'taskset')).toEqual({ server: '1', load: '0' });
    expect(corePlan('on', [0, 1, 2, 3], 'taskset')).toEqual({ server: '3', load: '0,1,2' });
    // A process already held to some cores (taskset, a cpuset) plans within them.
    expect(corePlan('on', parseCpuList('2,5-6'), 'taskset')).toEqual({
      server: '6',
      load: '2,5',
    });
  });

  it("reads the kernel's CPU lists", () => {
    expect(parseCpuList('0-3,8,10-11\n')).toEqual([0, 1, 2, 3, 8, 10, 11]);
    expect(parseCpuList('1')).toEqual([1]);
  });

  it('pins nothing when told not to, or, under auto, where it cannot', () => {
    expect(corePlan('off', [0, 1, 2], 'taskset')).toBeUndefined();
    expect(corePlan('auto', [3], 'taskset')).toBeUndefined();
    expect(corePlan('auto', [0, 1], null)).toBeUndefined();
  });

  it('refuses `on` where it cannot pin, saying why', () => {
    expect(() => corePlan('on', [0], 'taskset')).toThrow(
      '--pin on: pinning needs 2 or more cores (this process may use 1)',
    );
    expect(() => corePlan('on', [0, 1], null)).toThrow('--pin on: pinning needs taskset');
  });
});

describe('the report', () => {
  /** The report's "Cores" line for a run of `only` under a plan of core 1 and core 0. */
  const coresLine = (only: CompareReport['options']['only'], pinned = true): string => {
    const options = { ...COMPARE_DEFAULTS, ...(only === undefined ? {} : { only }) };
    const cores = pinned ? { server: '1', load: '0' } : undefined;
    const report: CompareReport = {
      startedAt: '2026-01-01T00:00:00.000Z',
      finishedAt: '2026-01-01T00:01:00.000Z',
      machine: machineInfo(),
      loadAfter: [0, 0, 0],
      options,
      ...(cores === undefined ? {} : { cores }),
      placement: placement(options, cores),
      targets: [],
    };
    const line = renderComparisonMarkdown(report, '0.0.0')
      .split('\n')
      .find((l) => l.startsWith('- Cores: '));
    return line ?? '';
  };

  it('names the scenarios that ran pinned, and idle as unpinned', () => {
    expect(coresLine(undefined)).toBe(
      "- Cores: in the heartbeat, fan-out one per turn, fan-out bursts, echo scenarios the server ran on core 1 alone and the load workers on 0 (`taskset`, `--pin auto`); the idle scenario (memory, connect rate) ran unpinned, its connect rate the whole machine's.",
    );
    expect(coresLine(['echo'])).toBe(
      '- Cores: in the echo scenario the server ran on core 1 alone and the load workers on 0 (`taskset`, `--pin auto`).',
    );
    expect(coresLine(['idle'])).toBe(
      "- Cores: no scenario of this run is pinned (`--pin auto`); the idle scenario (memory, connect rate) ran unpinned, its connect rate the whole machine's.",
    );
    expect(coresLine(undefined, false)).toBe(
      '- Cores: not pinned (`--pin auto`): the servers and the load clients shared every core.',
    );
  });
});

describe.skipIf(plan === undefined && !CI)('pinned workers', () => {
  it('run on the cores of the plan and answer over IPC', async () => {
    expect(plan, 'this machine cannot pin').toBeDefined();
    expect(existsSync(WORKER_ENTRY), 'packages/cli/dist is built').toBe(true);
    const cores = plan?.load as string;
    const pool = await withTimeout(
      WorkerPool.start(2, WORKER_ENTRY, undefined, cores),
      20_000,
      'pinned workers started',
    );
    try {
      for (const pid of pool.pids) expect(allowedCores(pid)).toBe(cores);
      expect(await pool.openCount()).toBe(0);
    } finally {
      await pool.stop();
    }
    const free = await withTimeout(WorkerPool.start(1, WORKER_ENTRY), 20_000, 'workers started');
    try {
      // Unpinned: wherever this process may run.
      expect(allowedCores(free.pids[0] as number)).toBe(allowedCores(process.pid));
    } finally {
      await free.stop();
    }
  });
});

describe('bench:compare', () => {
  let dir: TempDir | undefined;
  afterEach(async () => {
    await dir?.cleanup();
    dir = undefined;
  });

  it('refuses a --pin it does not know, naming the flag', async () => {
    const run = await runCommand('node', ['bench/compare.mjs', '--pin', 'sometimes'], {
      cwd: ROOT,
      timeoutMs: 20_000,
    });
    expect(run.status).toBe(2);
    expect(run.output).toContain('--pin takes one of auto, on, off (got "sometimes")');
  });

  it.skipIf(plan === undefined && !CI)(
    'a quick run says where it pinned the servers, and reports their CPU per connect',
    async () => {
      dir = await tempDir('tether-compare-');
      const out = join(dir.path, 'results.md');
      const run = await runCommand(
        'node',
        [
          'bench/compare.mjs',
          '--quick',
          '--servers',
          'tether,ws',
          '--only',
          'idle,echo',
          '--pin',
          'on',
          '--out',
          out,
        ],
        { cwd: ROOT, timeoutMs: 120_000 },
      );
      expect(run.status, run.output).toBe(0);
      const report = readFileSync(out, 'utf8');
      expect(report).toContain(
        `- Cores: in the echo scenario the server ran on core ${plan?.server} alone and the load workers on ${plan?.load}`,
      );
      // Both servers measured: a time per connect for each, then their ratio.
      expect(report).toMatch(
        /\| connect: server CPU per connect \(lower is better\) \| [\d.,]+ µs \| [\d.,]+ µs \| [\d.]+× \|/,
      );
      expect(report).toMatch(/\| echo: server CPU \(lower is better\) \| [\d.]+% \| [\d.]+% \|/);
    },
  );
});
