import { withTimeout } from '@tether/testkit';
import { describe, expect, it } from 'vitest';
import type { CheckResult } from '../src/stability/check.js';
import {
  formatStabilityTable,
  renderStabilityMarkdown,
  verdictLine,
} from '../src/stability/report.js';
import { runStability, STABILITY_DEFAULTS, type StabilityReport } from '../src/stability/suite.js';

describe('stability suite', () => {
  it('runs every check (shrunk) and passes with zero loss and zero duplicates', async () => {
    const done: string[] = [];
    const report = await withTimeout(
      runStability(
        {
          ...STABILITY_DEFAULTS,
          hub: 'in-process',
          longLivedMs: 3_000,
          longLivedClients: 3,
          heartbeatIntervalMs: 300,
          heartbeatTimeoutMs: 300,
          endpointClients: 2,
          concurrentClients: 10,
          publications: 30,
          sendsPerClient: 5,
          restartClients: 4,
          chaosClients: 3,
          chaosDurationMs: 2_000,
        },
        (check) => done.push(check.name),
      ),
      60_000,
      'the suite finished',
    );
    const failures = report.checks.flatMap((c) => c.failures.map((f) => `${c.name}: ${f}`));
    expect(failures).toEqual([]);
    expect(report.pass).toBe(true);
    expect(report.checks.map((c) => c.name)).toEqual([
      'endpoints',
      'concurrency',
      'long-lived',
      'restart',
      'chaos',
    ]);
    expect(done.sort()).toEqual(['chaos', 'concurrency', 'endpoints', 'long-lived', 'restart']);
    const numbers = Object.fromEntries(
      report.checks.flatMap((c) => c.numbers.map(([k, v]) => [`${c.name}.${k}`, v])),
    );
    expect(numbers['concurrency.lost']).toBe(0);
    expect(numbers['concurrency.duplicated']).toBe(0);
    expect(numbers['restart.lost']).toBe(0);
    expect(numbers['restart.duplicated']).toBe(0);
    expect(numbers['restart.sessions resumed']).toBe('8/8');
    expect(numbers['long-lived.drops during the hold']).toBe(0);
    expect(formatStabilityTable(report).at(-1)).toBe('stability: PASS (5 of 5 checks passed)');
  });

  it('a single failing check fails the suite: never "4 of 5 is success"', () => {
    const check = (name: string, pass: boolean): CheckResult => ({
      name,
      what: `${name} things`,
      pass,
      numbers: [['lost', pass ? 0 : 3]],
      failures: pass ? [] : ['3 publications lost'],
      notes: [],
      durationMs: 1_000,
    });
    const checks = [
      check('a', true),
      check('b', true),
      check('c', false),
      check('d', true),
      check('e', true),
    ];
    const report: StabilityReport = {
      startedAt: '2025-01-01T00:00:00.000Z',
      finishedAt: '2025-01-01T00:01:00.000Z',
      machine: {
        cpuModel: 'cpu',
        cores: 2,
        memoryGiB: 4,
        loadAverage: [0, 0, 0],
        node: 'v20',
        platform: 'linux x64',
      },
      options: STABILITY_DEFAULTS,
      checks,
      passed: 4,
      pass: false,
    };
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
});
