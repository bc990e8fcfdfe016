/**
 * The stability suite's verdict, with real checks that really fail: runStability() runs
 * checks built like the suite's own (runCheck + a recorder, a sequence audit that finds a
 * loss, a check that throws), no hand-written `pass: false`. Unit tier: no socket.
 */
import { describe, expect, it } from 'vitest';
import { SequenceAudit } from '../src/chaos/sequence-audit.js';
import { runCheck } from '../src/stability/check.js';
import {
  formatStabilityTable,
  renderStabilityMarkdown,
  verdictLine,
} from '../src/stability/report.js';
import {
  runStability,
  STABILITY_CHECKS,
  STABILITY_DEFAULTS,
  type SuiteCheck,
  stabilityVerdict,
} from '../src/stability/suite.js';

const OPTIONS = { ...STABILITY_DEFAULTS, hub: 'in-process' as const };

/** A check that audits the publications it "received", as the concurrency check does. */
function auditCheck(name: string, received: number[], published: number): SuiteCheck {
  return {
    name,
    run: () =>
      runCheck(name, `${name}: ${published} publications audited`, async (check) => {
        const audit = new SequenceAudit();
        for (const n of received) audit.record(n);
        const v = audit.verdict(published);
        check.number('lost', v.lost).number('duplicated', v.duplicated);
        check.expect(v.lost === 0, `${v.lost} publications lost`);
        check.expect(v.duplicated === 0, `${v.duplicated} publications duplicated`);
      }),
  };
}

const all = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1);

describe('stability verdict', () => {
  it('one check that really loses publications fails the suite: never "4 of 5 is success"', async () => {
    const done: string[] = [];
    const report = await runStability(OPTIONS, (c) => done.push(c.name), [
      auditCheck('a', all(10), 10),
      auditCheck('b', all(10), 10),
      // 3, 5 and 8 never arrive.
      auditCheck(
        'c',
        all(10).filter((n) => ![3, 5, 8].includes(n)),
        10,
      ),
      { ...auditCheck('d', all(10), 10), background: true },
      auditCheck('e', all(10), 10),
    ]);
    expect(done.sort()).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(report.checks.map((c) => [c.name, c.pass])).toEqual([
      ['a', true],
      ['b', true],
      ['c', false],
      ['d', true],
      ['e', true],
    ]);
    expect(report.checks[2]?.failures).toEqual(['3 publications lost']);
    expect(report.passed).toBe(4);
    expect(report.pass).toBe(false);
    expect(verdictLine(report)).toBe(
      'stability: FAIL (4 of 5 checks passed; every check must pass)',
    );
    const table = formatStabilityTable(report);
    expect(table.some((l) => /^c\s+FAIL/.test(l))).toBe(true);
    expect(table).toContain('  FAIL: 3 publications lost');
    const markdown = renderStabilityMarkdown(report);
    expect(markdown).toMatch(
      /\*\*FAIL\*\*: 4 of 5 checks passed\. The suite passes only when every check passes\./,
    );
    expect(markdown).toMatch(/## c: FAIL/);
  });

  it('a check that throws is a failed check; the others still run and the suite fails', async () => {
    const report = await runStability(OPTIONS, () => {}, [
      auditCheck('a', all(5), 5),
      {
        name: 'broken',
        run: () => Promise.reject(new Error('hub did not start')),
      },
      auditCheck('c', all(5), 5),
    ]);
    expect(report.checks.map((c) => [c.name, c.pass])).toEqual([
      ['a', true],
      ['broken', false],
      ['c', true],
    ]);
    expect(report.checks[1]?.failures).toEqual(['the check itself failed: hub did not start']);
    expect(report.pass).toBe(false);
  });

  it('passes when every check passes, and never on no checks at all', async () => {
    const report = await runStability(OPTIONS, () => {}, [
      auditCheck('a', all(5), 5),
      auditCheck('b', all(5), 5),
    ]);
    expect(report).toMatchObject({ passed: 2, pass: true });
    expect(verdictLine(report)).toBe('stability: PASS (2 of 2 checks passed)');
    expect(stabilityVerdict([])).toEqual({ passed: 0, pass: false });
  });

  it('a skipped check is no pass: the verdict says SKIPPED, and a suite of skips fails', async () => {
    const skipped: SuiteCheck = {
      name: 'netns',
      run: () =>
        runCheck('netns', 'kernel faults', async (check) => {
          check.skip('network namespaces need root (this process is not root)');
        }),
    };
    const report = await runStability(OPTIONS, () => {}, [auditCheck('a', all(5), 5), skipped]);
    expect(report).toMatchObject({ passed: 1, pass: true });
    expect(verdictLine(report)).toBe(
      'stability: PASS (1 of 1 checks passed; 1 SKIPPED (netns): NOT TESTED here)',
    );
    expect(formatStabilityTable(report)).toContain(
      '  SKIPPED: network namespaces need root (this process is not root)',
    );
    const onlySkips = await runStability(OPTIONS, () => {}, [skipped]);
    expect(onlySkips).toMatchObject({ passed: 0, pass: false });
  });

  it('npm run stability runs the six checks, long-lived in the background', () => {
    expect(STABILITY_CHECKS.map((c) => [c.name, c.background === true])).toEqual([
      ['endpoints', false],
      ['concurrency', false],
      ['long-lived', true],
      ['restart', false],
      ['chaos', false],
      ['netns', false],
    ]);
  });
});
