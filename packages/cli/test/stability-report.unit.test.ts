/**
 * stability-report.md for a skeptical reader: per check its method, parameters, raw
 * counts, timing percentiles against their bounds and verdict; the environment; and what
 * was not tested. Built from checks made like the suite's own (runCheck + a recorder).
 */
import { describe, expect, it } from 'vitest';
import { distribution, runCheck } from '../src/stability/check.js';
import { NOT_TESTED } from '../src/stability/check-methods.js';
import { formatStabilityTable, renderStabilityMarkdown } from '../src/stability/report.js';
import { runStability, STABILITY_DEFAULTS, type SuiteCheck } from '../src/stability/suite.js';

const OPTIONS = { ...STABILITY_DEFAULTS, hub: 'in-process' as const };

const netns = (samples: number[]): SuiteCheck => ({
  name: 'netns',
  run: () =>
    runCheck('netns', '50 clients in network namespaces', async (check) => {
      check.number('lost', 0).number('duplicated', 0).number('reordered', 0);
      const d = distribution('black hole: server detection', samples, 5_000);
      check.distribution(d);
      check.expect(d.maxMs <= 5_000, `black hole: server detection took up to ${d.maxMs} ms`);
    }),
});

const skippedChaos: SuiteCheck = {
  name: 'chaos',
  run: () => runCheck('chaos', 'faults', async (check) => void check.skip('no proxy here')),
};

describe('stability report', () => {
  it('nearest-rank percentiles of the samples', () => {
    const d = distribution('x', [5, 1, 4, 2, 3, 100, 6, 7, 8, 9], 50);
    expect(d).toEqual({ label: 'x', count: 10, p50Ms: 5, p99Ms: 100, maxMs: 100, boundMs: 50 });
    expect(distribution('none', [])).toEqual({
      label: 'none',
      count: 0,
      p50Ms: 0,
      p99Ms: 0,
      maxMs: 0,
    });
  });

  it('renders method, parameters, raw counts, percentiles, verdict, environment and what was not tested', async () => {
    const report = await runStability(OPTIONS, () => {}, [
      netns([3_900, 4_100, 4_000]),
      skippedChaos,
    ]);
    const md = renderStabilityMarkdown(report);
    const section = md.slice(md.indexOf('## netns: PASS'), md.indexOf('## chaos'));
    for (const heading of [
      '### Method',
      '### Parameters',
      '### Raw counts',
      '### Timings',
      '### Verdict',
    ]) {
      expect(section).toContain(heading);
    }
    expect(section).toContain('iptables `-m statistic --mode random`');
    expect(section).toContain('| clients | 50 |');
    expect(section).toContain('| detection bound | 5000 ms (interval + timeout + 1000 ms) |');
    expect(section).toContain('| lost | 0 |');
    expect(section).toContain(
      '| black hole: server detection | 3 | 4000 ms | 4100 ms | 4100 ms | 5000 ms | yes |',
    );
    expect(section).toMatch(/\*\*PASS\*\* in /);

    const env = md.slice(md.indexOf('## Environment'), md.indexOf('## netns'));
    expect(env).toContain(`| cores | ${report.machine.cores} |`);
    expect(env).toContain(`| Node.js | ${process.version} |`);
    expect(env).toContain(`| kernel | ${report.environment.kernel} |`);
    expect(env).toMatch(
      /\| load average at start \(1 \/ 5 \/ 15 min\) \| [\d.]+ \/ [\d.]+ \/ [\d.]+ \|/,
    );
    expect(env).toMatch(
      /\| load average at end \(1 \/ 5 \/ 15 min\) \| [\d.]+ \/ [\d.]+ \/ [\d.]+ \|/,
    );

    expect(md).toContain('## chaos: SKIPPED');
    expect(md).toContain('**SKIPPED**: no proxy here.');
    expect(md).toContain('**1 check SKIPPED**');
    const notTested = md.slice(md.indexOf('## Not tested'));
    expect(notTested).toContain('- **chaos** (SKIPPED on this machine: no proxy here).');
    for (const item of NOT_TESTED) expect(notTested).toContain(`- ${item}`);
    expect(notTested).toContain('NAT');
    expect(notTested).toContain(
      '- Checks of the suite that this run left out (`--only`): endpoints, concurrency, long-lived, restart.',
    );
    // No long-lived check ran: the report does not claim a hold.
    expect(md).not.toContain('held its connections');
  });

  it('a detection past its bound shows as NO in the timings and fails the check', async () => {
    const report = await runStability(OPTIONS, () => {}, [netns([3_900, 7_200])]);
    expect(report.pass).toBe(false);
    const md = renderStabilityMarkdown(report);
    expect(md).toContain('## netns: FAIL');
    expect(md).toContain(
      '| black hole: server detection | 2 | 3900 ms | 7200 ms | 7200 ms | 5000 ms | NO |',
    );
    expect(md).toContain('- black hole: server detection took up to 7200 ms');
    const console = formatStabilityTable(report).join('\n');
    expect(console).toMatch(
      /black hole: server detection\s+2\s+3900 ms\s+7200 ms\s+7200 ms\s+5000 ms\s+NO/,
    );
  });
});
