/**
 * The Python client (clients/python) against the real hub: its pure logic under
 * `python3 -m unittest`, then the same resume/topic/ack audit the TypeScript client
 * passes, through connection cuts (a fault proxy resetting the TCP link at random).
 * Run with Debian's python3 and python3-websockets (10.4), and with the newest
 * `websockets` in a virtualenv this test sets up (cached under node_modules/.cache).
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Json } from '@tether/protocol';
import { createFaultProxy, type FaultProxy, systemDepMissing, withTimeout } from '@tether/testkit';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { closeHubs, startTestHub } from './hub-helpers.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CLIENT_DIR = join(ROOT, 'clients/python');
const DRIVER = join(CLIENT_DIR, 'tests/audit_driver.py');
const SYSTEM_PYTHON = '/usr/bin/python3';
/** The newest release of `websockets` the package index offers (pip index versions websockets). */
const NEWEST_WEBSOCKETS = '17.1';

const PUBLICATIONS = 1_000;
const MESSAGES = 500;
const SENDS = 300;
const MIN_CUTS = 20;

interface PythonRun {
  code: number | null;
  lines: Array<Record<string, unknown>>;
  stderr: string;
}

/** Runs `args` with `python`; `onLine` sees each JSON line of stdout as it comes. */
function runPython(
  python: string,
  args: string[],
  env: Record<string, string>,
  onLine: (line: Record<string, unknown>) => void = () => {},
  timeoutMs = 120_000,
): Promise<PythonRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(python, args, {
      cwd: CLIENT_DIR,
      env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: Array<Record<string, unknown>> = [];
    let partial = '';
    let stderr = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      partial += chunk;
      const complete = partial.split('\n');
      partial = complete.pop() ?? '';
      for (const text of complete) {
        if (text.trim() === '') continue;
        const line = JSON.parse(text) as Record<string, unknown>;
        lines.push(line);
        onLine(line);
      }
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    const deadline = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(deadline);
      resolve({ code, lines, stderr });
    });
  });
}

/** Where the package's sources are for Debian's interpreter (no install needed). */
const SOURCE_PATH = { PYTHONPATH: join(CLIENT_DIR, 'src') };

/** A hash of the client's sources: the cached virtualenv is rebuilt when they change. */
function sourcesHash(): string {
  const hash = createHash('sha256').update(NEWEST_WEBSOCKETS);
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
      a.name.localeCompare(b.name),
    )) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== '__pycache__' && !entry.name.endsWith('.egg-info')) walk(path);
      } else {
        hash.update(path.slice(CLIENT_DIR.length)).update(readFileSync(path));
      }
    }
  };
  walk(join(CLIENT_DIR, 'src'));
  hash.update(readFileSync(join(CLIENT_DIR, 'pyproject.toml')));
  return hash.digest('hex').slice(0, 16);
}

/**
 * A virtualenv with the newest `websockets` and the package installed from
 * clients/python by pip (which also proves it is pip-installable). Returns its python,
 * or throws why it could not be made.
 */
function newestVenv(): string {
  const dir = join(ROOT, 'node_modules/.cache/tether-python', `venv-${sourcesHash()}`);
  const python = join(dir, 'bin/python');
  if (existsSync(join(dir, '.complete'))) return python;
  rmSync(dir, { recursive: true, force: true });
  const step = (cmd: string, args: string[]): void => {
    const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 240_000, cwd: ROOT });
    if (r.status !== 0) {
      throw new Error(`${cmd} ${args.join(' ')} failed: ${r.error?.message ?? ''}${r.stderr}`);
    }
  };
  step(SYSTEM_PYTHON, ['-m', 'venv', dir]);
  step(python, ['-m', 'pip', 'install', '--quiet', `websockets==${NEWEST_WEBSOCKETS}`, CLIENT_DIR]);
  step(python, ['-c', 'open(__import__("sys").argv[1], "w").close()', join(dir, '.complete')]);
  return python;
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

/** Problems of a numbered stream that must be exactly 1..n. */
function audit(name: string, seen: readonly number[], n: number): string[] {
  const problems: string[] = [];
  const counts = new Map<number, number>();
  for (const k of seen) counts.set(k, (counts.get(k) ?? 0) + 1);
  const dups = [...counts].filter(([, c]) => c > 1).map(([k]) => k);
  const missing = range(1, n).filter((k) => !counts.has(k));
  const reordered = seen.filter((k, i) => i > 0 && k < (seen[i - 1] as number)).length;
  if (dups.length > 0) problems.push(`${name}: duplicates ${dups.slice(0, 10).join(',')}`);
  if (missing.length > 0) problems.push(`${name}: missing ${missing.slice(0, 10).join(',')}`);
  if (reordered > 0) problems.push(`${name}: ${reordered} out of order`);
  return problems;
}

const debianMissing = systemDepMissing('python3-websockets');
const venvMissing = debianMissing || systemDepMissing('python3-venv');
let venvPython: string | undefined;

describe.skipIf(debianMissing)('the Python client (clients/python)', () => {
  const proxies: FaultProxy[] = [];

  beforeAll(() => {
    if (!venvMissing) venvPython = newestVenv();
  }, 300_000);
  afterEach(async () => {
    await Promise.all(proxies.splice(0).map((p) => p.close()));
    await closeHubs();
  });

  it('passes its unit tests (backoff, breaker, close codes, health) under python3 -m unittest', async () => {
    const run = await runPython(
      SYSTEM_PYTHON,
      ['-m', 'unittest', 'discover', '-s', 'tests', '-p', 'test_*.py'],
      SOURCE_PATH,
    );
    expect(run.stderr).toMatch(/Ran \d+ tests[\s\S]*\nOK\s*$/);
    expect(run.code).toBe(0);
  });

  const variants: Array<{ label: string; venv: boolean; maxBytes?: number }> = [
    { label: 'Debian python3 + python3-websockets', venv: false },
    { label: `a virtualenv with websockets ${NEWEST_WEBSOCKETS}`, venv: true },
    { label: 'Debian python3, hello.maxMessageBytes 4096', venv: false, maxBytes: 4096 },
  ];
  for (const variant of variants) {
    it.skipIf(variant.venv && venvMissing)(
      `${variant.label}: ${PUBLICATIONS} publications, ${MESSAGES} direct messages and ${SENDS} reliable sends through >= ${MIN_CUTS} cuts, exactly once and in order`,
      async () => {
        const { hub } = await startTestHub({
          history: { maxCount: PUBLICATIONS * 2 },
          topics: { 'audit:*': { publish: 'none', subscribe: 'anyone' } },
        });
        const received: number[] = [];
        hub.endpoint.onMessage((data: Json) => {
          const n = (data as { n?: unknown }).n;
          if (typeof n === 'number') received.push(n);
        });
        const proxy = await createFaultProxy({ target: { host: '127.0.0.1', port: hub.port } });
        proxies.push(proxy);
        const python = variant.venv ? (venvPython as string) : SYSTEM_PYTHON;
        let ready: (sid: string) => void = () => {};
        const isReady = new Promise<string>((resolve) => {
          ready = resolve;
        });
        const args = [
          DRIVER,
          `ws://127.0.0.1:${proxy.port}/ws`,
          'audit:python',
          String(SENDS),
          String(PUBLICATIONS),
          String(MESSAGES),
          ...(variant.maxBytes === undefined ? [] : [String(variant.maxBytes)]),
        ];
        const running = runPython(python, args, variant.venv ? {} : SOURCE_PATH, (line) => {
          if (line.event === 'ready') ready(String(line.sid));
        });
        const sid = await withTimeout(isReady, 20_000, 'the Python client connected');

        // Cuts at random while the hub publishes and sends; paced so they spread over the run.
        let cuts = 0;
        let cutting = true;
        const cutter = (async () => {
          while (cutting) {
            await new Promise((r) => setTimeout(r, 30 + Math.random() * 120));
            if (cutting && proxy.connections > 0 && proxy.resetAll() > 0) cuts += 1;
          }
        })();
        try {
          for (let n = 1; n <= PUBLICATIONS; n += 1) {
            await hub.endpoint.publish('audit:python', { n, text: 'é'.repeat(n % 40) });
            if (n <= MESSAGES) await hub.endpoint.sendTo(sid, { n });
            if (n % 40 === 0) {
              // Ahead of the stream: the client leaves once it has everything.
              const want = Math.ceil(MIN_CUTS * Math.min(1, (n + PUBLICATIONS / 4) / PUBLICATIONS));
              const until = Date.now() + 10_000;
              while (cuts < want && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
            }
          }
          // Keep cutting until the Python side has sent everything too.
          await withTimeout(
            (async () => {
              while (received.length < SENDS) await new Promise((r) => setTimeout(r, 20));
            })(),
            60_000,
            'the hub received every reliable send',
          ).catch(() => undefined);
        } finally {
          cutting = false;
          await cutter;
        }
        const run = await running;
        const done = run.lines.find((l) => l.event === 'done');
        expect(done, `python exited ${run.code}: ${run.stderr.slice(-2000)}`).toBeDefined();
        const result = done as {
          pubs: number[];
          msgs: number[];
          gaps: unknown[];
          sessionLost: unknown[];
          closes: number[];
          resumes: number;
          acked: number;
          sid: string;
        };
        const problems = [
          ...audit('publications', result.pubs, PUBLICATIONS),
          ...audit('direct messages', result.msgs, MESSAGES),
          ...audit('reliable sends at the hub', received, SENDS),
        ];
        // The numbers, for the closing note of issue 14.
        console.log(
          `[python audit] ${variant.label}: ${cuts} cuts, ${result.resumes} resumes, ` +
            `${result.pubs.length} publications, ${result.msgs.length} messages, ` +
            `${received.length} sends at the hub (${result.acked} acked), ` +
            `closes ${JSON.stringify(countBy(result.closes))}, problems ${problems.length}`,
        );
        expect(problems).toEqual([]);
        expect(result.gaps).toEqual([]);
        expect(result.sessionLost).toEqual([]);
        expect(result.sid).toBe(sid);
        expect(result.acked).toBe(SENDS);
        expect(cuts).toBeGreaterThanOrEqual(MIN_CUTS);
        expect(result.resumes).toBeGreaterThan(0);
        // A message over the stated limit would have closed the client's socket with 1009.
        expect(result.closes.filter((c) => c === 1009)).toEqual([]);
        expect(run.code).toBe(0);
      },
      180_000,
    );
  }
});

function countBy(values: readonly number[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[v] = (out[v] ?? 0) + 1;
  return out;
}
