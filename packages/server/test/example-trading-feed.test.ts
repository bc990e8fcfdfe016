/**
 * examples/trading-feed runs as its README says and prints its reports: every trader
 * recovered after the graceful restart (the breaker opened and closed meanwhile), and the
 * silent client was reported stale and cut with 4008.
 */
import { describe, expect, it } from 'vitest';
import { runExample } from './example-process.js';

describe('examples/trading-feed', () => {
  it('runs for 5 s, exits 0 and prints the stability reports', async () => {
    const { code, output } = await runExample(
      'examples/trading-feed/run.mjs',
      ['--duration', '5s'],
      40_000,
    );
    expect(code, output).toBe(0);
    expect(output).toContain('client stability reports:');
    expect(output).toMatch(/alice: open, .*recoveries 1/);
    expect(output).toMatch(/breaker open/);
    expect(output).toMatch(/breaker close/);
    expect(output).toMatch(/server +stale /);
    expect(output).toContain('"heartbeat_timeout":1');
    expect(output).toContain('ok: every trader recovered');
  });
});
