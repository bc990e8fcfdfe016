/**
 * examples/trading-feed runs as its README says and prints its reports: every trader
 * recovered after the graceful restart (the breaker opened and closed meanwhile), and the
 * silent client was reported stale and cut with 4008.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { withTimeout } from '@tether/testkit';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

describe('examples/trading-feed', () => {
  it('runs for 5 s, exits 0 and prints the stability reports', async () => {
    const child = spawn(process.execPath, ['examples/trading-feed/run.mjs', '--duration', '5s'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
    });
    const code = await withTimeout(
      new Promise<number | null>((resolve) => child.once('exit', resolve)),
      40_000,
      'the example exits',
    ).catch((err: unknown) => {
      child.kill('SIGKILL');
      throw err;
    });
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
