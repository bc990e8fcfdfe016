/**
 * `npm run soak` for a bounded short run (CI): thousands of connect/subscribe/receive/send/
 * disconnect cycles against a server child; RSS and heap back within 10 % of the
 * post-warm-up baseline, every registry back to zero. The 2-minute run is `npm run soak`.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runNode } from './cli-helpers.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const bin = fileURLToPath(new URL('../bin/tether.js', import.meta.url));

describe('tether soak', () => {
  it('holds its bounds over a few thousand cycles with messages flowing', async () => {
    // The soak forks the compiled server child: build what is stale first.
    const built = await runNode([`${root}scripts/ensure-built.mjs`], {
      timeoutMs: 300_000,
      what: 'ensure-built',
      stderr: 'inherit',
    });
    expect(built.code).toBe(0);
    const { code, stdout } = await runNode(
      [bin, 'soak', '--duration', '30s', '--cycles', '8000', '--warmup', '2000'],
      { timeoutMs: 150_000, what: 'tether soak', stderr: 'inherit' },
    );
    const summary = JSON.parse(stdout) as {
      ok: boolean;
      cycles: number;
      failedCycles: number;
      failed: string[];
      publications: number;
      registries: Record<string, unknown>;
    };
    expect(summary.failed, stdout).toEqual([]);
    expect(code).toBe(0);
    expect(summary.ok).toBe(true);
    expect(summary.failedCycles).toBe(0);
    // Past the warm-up: the measured phase ran.
    expect(summary.cycles).toBeGreaterThan(2000);
    expect(summary.publications).toBeGreaterThan(1000);
    expect(summary.registries).toMatchObject({
      connections: 0,
      sessions: 0,
      storedSessions: 0,
      subscriptions: 0,
      pendingHandshakes: 0,
      inFlight: 0,
    });
  }, 480_000);
});
