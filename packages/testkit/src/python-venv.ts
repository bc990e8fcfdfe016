import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where virtualenvs are cached: ignored by git, kept between runs, one per requirements file content. */
const CACHE = resolve(
  dirname(fileURLToPath(import.meta.url)),
  '../../../node_modules/.cache/tether-venvs',
);

/** A virtualenv could not be created or filled (no python3-venv, no package index). */
export class VenvUnavailableError extends Error {
  override readonly name = 'VenvUnavailableError';
}

/**
 * A virtualenv of /usr/bin/python3 with the pinned `requirements` installed by pip (from
 * the package index pip is configured with); cached under node_modules/.cache by the
 * file's hash, so only the first run pays for the install. Resolves with its directory.
 */
export async function pythonVenv(requirements: string, timeoutMs = 300_000): Promise<string> {
  const text = readFileSync(requirements, 'utf8');
  const hash = createHash('sha256').update(text).digest('hex').slice(0, 16);
  const dir = join(CACHE, hash);
  const marker = join(dir, '.tether-ready');
  if (existsSync(marker)) return dir;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(CACHE, { recursive: true });
  await run('/usr/bin/python3', ['-m', 'venv', dir], timeoutMs);
  await run(
    join(dir, 'bin', 'pip'),
    ['install', '--disable-pip-version-check', '--retries', '1', '-q', '-r', requirements],
    timeoutMs,
  );
  writeFileSync(marker, `${new Date().toISOString()}\n`);
  return dir;
}

function run(command: string, args: string[], timeoutMs: number): Promise<void> {
  return new Promise((done, fail) => {
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr = (stderr + String(chunk)).slice(-4000);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      fail(new VenvUnavailableError(`${command}: ${err.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) done();
      else
        fail(
          new VenvUnavailableError(
            `${command} ${args.join(' ')} failed (${signal ?? `exit ${code}`}): ${stderr.trim()}`,
          ),
        );
    });
  });
}
