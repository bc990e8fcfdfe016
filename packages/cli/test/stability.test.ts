import { withTimeout } from '@tether/testkit';
import { describe, expect, it } from 'vitest';
import { formatStabilityTable } from '../src/stability/report.js';
import { runStability, STABILITY_CHECKS, STABILITY_DEFAULTS } from '../src/stability/suite.js';

// The netns check runs in netns-check.slow.test.ts (it needs root and the built CLI).
const CHECKS = STABILITY_CHECKS.filter((c) => c.name !== 'netns');

// The verdict rule, with checks that really fail, is a unit test: stability-verdict.test.ts.
describe('stability suite', () => {
  it('runs every check (shrunk) and passes with zero loss and zero duplicates', async () => {
    const done: string[] = [];
    const report = await withTimeout(
      runStability(
        {
          ...STABILITY_DEFAULTS,
          hub: 'in-process',
          // Heartbeats of seconds: 300 ms + 300 ms once declared a live probe dead on a
          // loaded 2-core machine (4008 after 734 ms). The hold asserts what happens
          // (no drop, heartbeats answered), not how fast.
          longLivedMs: 6_000,
          longLivedClients: 3,
          heartbeatIntervalMs: 1_000,
          heartbeatTimeoutMs: 3_000,
          endpointClients: 2,
          concurrentClients: 10,
          publications: 30,
          sendsPerClient: 5,
          restartClients: 4,
          chaosClients: 3,
          chaosDurationMs: 2_000,
        },
        (check) => done.push(check.name),
        CHECKS,
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
});
