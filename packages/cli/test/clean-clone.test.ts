import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getFreePort, runCommand, waitFor, withTimeout } from '@tether/testkit';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * The first thing a new user does: `npm ci && npm start` in a fresh clone gives a
 * running hub. Done for real: `git clone` of this repository's HEAD into a temp dir,
 * `npm ci --prefer-offline` (better-sqlite3 may compile from source: minutes), then
 * `npm start` on a free port, /healthz and /readyz, SIGTERM, a clean exit.
 *
 * It tests committed code. TETHER_CLONE_OVERLAY=1 copies the working tree's files
 * (tracked and untracked, not ignored) over the clone first, to try uncommitted work.
 * TETHER_SKIP_CLEAN_CLONE=1 skips it (a quick local loop).
 */

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const hasGit =
  spawnSync('git', ['-C', ROOT, 'rev-parse', '--git-dir'], { stdio: 'ignore' }).status === 0;
const skip = process.env.TETHER_SKIP_CLEAN_CLONE === '1' || !hasGit;
if (!hasGit) console.warn('\n!!  SKIPPED: the clean-clone test needs git and a git checkout\n');

/** Copies the working tree's non-ignored files over `target` (TETHER_CLONE_OVERLAY=1). */
function overlay(target: string): void {
  const listed = spawnSync('git', ['-C', ROOT, 'ls-files', '-z', '-co', '--exclude-standard'], {
    encoding: 'utf8',
  });
  for (const file of listed.stdout.split('\0').filter(Boolean)) {
    const from = join(ROOT, file);
    const to = join(target, file);
    if (!existsSync(from)) {
      rmSync(to, { force: true });
      continue;
    }
    mkdirSync(dirname(to), { recursive: true });
    copyFileSync(from, to);
  }
}

describe.skipIf(skip)('a fresh clone: npm ci && npm start', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tether-clone-'));
  let hub: ChildProcess | undefined;

  afterAll(() => {
    if (hub !== undefined && hub.exitCode === null) hub.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it(
    'installs, starts a hub that answers /healthz and /readyz, and exits 0 on SIGTERM',
    async () => {
      const clone = await runCommand('git', ['clone', '--quiet', ROOT, dir], {
        cwd: tmpdir(),
        timeoutMs: 60_000,
      });
      expect(clone.status, clone.output).toBe(0);
      if (process.env.TETHER_CLONE_OVERLAY === '1') overlay(dir);
      // No CI variable: npm ci then behaves as on a developer's machine. VITEST is dropped
      // so the hub logs as it does for a user.
      const env = { ...process.env, CI: '', VITEST: undefined, NODE_ENV: undefined };
      const install = await runCommand(
        'npm',
        ['ci', '--prefer-offline', '--no-audit', '--no-fund'],
        {
          cwd: dir,
          timeoutMs: 8 * 60_000,
          env,
        },
      );
      expect(install.status, install.output.slice(-4000)).toBe(0);

      // Issue 14: every public package packs from the fresh clone with its dist and types
      // (npm ci ran the root build; each package's prepack checks it is current).
      const PUBLIC = ['common', 'protocol', 'fault-proxy', 'server', 'store-sqlite', 'client'];
      PUBLIC.push('dashboard', 'hub', 'cli');
      const workspaces = PUBLIC.flatMap((name) => ['--workspace', `@tether/${name}`]);
      const pack = await runCommand('npm', ['pack', '--dry-run', '--json', ...workspaces], {
        cwd: dir,
        timeoutMs: 5 * 60_000,
        env,
      });
      expect(pack.status, pack.output.slice(-4000)).toBe(0);
      const packed = JSON.parse(pack.output.slice(pack.output.indexOf('['))) as Array<{
        name: string;
        files: Array<{ path: string }>;
      }>;
      expect(packed.map((p) => p.name).sort()).toEqual(PUBLIC.map((n) => `@tether/${n}`).sort());
      for (const { name, files } of packed) {
        const paths = files.map((f) => f.path);
        expect(paths, name).toContain('dist/index.js');
        expect(paths, name).toContain('dist/index.d.ts');
      }

      const port = await getFreePort();
      const child = spawn('npm', ['start'], {
        cwd: dir,
        env: { ...env, PORT: String(port) },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      hub = child;
      let out = '';
      let err = '';
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
      });
      child.stderr.on('data', (chunk: Buffer) => {
        err += chunk.toString();
      });
      const exited = new Promise<number | null>((resolve) =>
        child.on('exit', (code) => resolve(code)),
      );

      // npm start prints the bound address (it may build first).
      await waitFor(() => out.includes(`tether listening on http://127.0.0.1:${port} (ws: /ws)`), {
        timeoutMs: 5 * 60_000,
        intervalMs: 200,
        message: `the listening line (stdout so far: ${out.slice(-2000)} stderr: ${err.slice(-2000)})`,
      });
      const health = await fetch(`http://127.0.0.1:${port}/healthz`);
      expect(health.status).toBe(200);
      await health.arrayBuffer();
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
      expect(ready.status, await ready.text()).toBe(200);
      // Durable by default, and open only because npm start asks for development mode.
      expect(existsSync(join(dir, 'data', 'tether.db'))).toBe(true);
      expect(err).toContain('WARNING: authentication is OFF');

      child.kill('SIGTERM');
      expect(await withTimeout(exited, 30_000, 'npm start exit after SIGTERM')).toBe(0);
      expect(err).toContain('tether: SIGTERM received, draining connections');
      expect(err).toContain('tether: stopped');
    },
    15 * 60_000,
  );
});
