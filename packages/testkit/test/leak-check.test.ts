/**
 * The leak check fails the build: vitest run on a fixture file with the suite's setup
 * file exits 1 naming what the file left behind, and 0 when the file closes it all.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runCommand } from '../src/run-command.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const config = fileURLToPath(new URL('./fixtures/leak/vitest.config.ts', import.meta.url));
const vitest = `${root}node_modules/vitest/vitest.mjs`;

async function runFixture(
  mode: 'leak' | 'clean',
): Promise<{ code: number | null; output: string }> {
  const env = { ...process.env, LEAK_FIXTURE: mode, TETHER_LEAK_CHECK: '', NO_COLOR: '1' };
  const { status, output } = await runCommand(
    process.execPath,
    [vitest, 'run', '--config', config],
    { cwd: root, env, timeoutMs: 60_000, label: `vitest on the ${mode} fixture` },
  );
  return { code: status, output };
}

describe('leak check', () => {
  it("fails a test file that leaves a server, an unref'd sweep and a process listener behind", async () => {
    const { code, output } = await runFixture('leak');
    expect(code, output).toBe(1);
    expect(output).toContain(
      "left behind: 1 TCPServerWrap, 1 unref'd Interval, 1 process 'SIGTERM' listener",
    );
  });

  it('passes the same file when it closes what it opened', async () => {
    const { code, output } = await runFixture('clean');
    expect(code, output).toBe(0);
  });
});
