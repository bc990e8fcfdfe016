/**
 * `npm run bench:cluster` (bench/cluster.mjs) at a tiny size: Redis and `tether serve`
 * hubs as child processes, 1 node then 3 nodes (and `--workers 1`/`2` when this tree's
 * serve has the flag). Checks the JSON's shape, that every publication reached every
 * subscriber once, and that RESULTS.md gets the section between its markers, replacing an
 * older one and keeping what surrounds it.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { systemDepMissing, tempDir, withTimeout } from '@tether/testkit';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface SetupResult {
  name: string;
  processes: number;
  workers: number;
  subscribers: number;
  publications: number;
  latencyPublications: number;
  deliveredPerSecond: number;
  deliveredPerHubCpuSecond: number;
  hubCpuPercent: number;
  redisCpuPercent: number;
  latency: { count: number; p50Ms: number; p99Ms: number; maxMs: number };
  lost: number;
  duplicates: number;
  skipped: number;
  gaps: number;
  failures: string[];
  /** Each round's own result. */
  rounds: unknown[];
}

interface Report {
  withWorkers: boolean;
  options: { subscribers: number; rate: number; latencyMs: number; rounds: number };
  results: Record<'oneNode' | 'threeNodes' | 'oneWorker' | 'twoWorkers', SetupResult | undefined>;
}

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [join(ROOT, 'bench/cluster.mjs'), ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => {
    stdout += c.toString();
  });
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return withTimeout(
    new Promise((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr }))),
    120_000,
    'bench:cluster --quick',
  );
}

describe.skipIf(systemDepMissing('redis-server'))('npm run bench:cluster', () => {
  beforeAll(() => {
    // The bench runs the built CLI and client: build them when the sources are newer.
    const built = spawnSync(process.execPath, [join(ROOT, 'scripts/ensure-built.mjs')], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 300_000,
    });
    expect(built.status, `${built.stdout}${built.stderr}`).toBe(0);
  }, 310_000);

  it('measures 1 node against 3 at a tiny size: every publication to every subscriber once; writes its section', async () => {
    const dir = await tempDir('tether-bench-cluster-');
    cleanups.push(() => dir.cleanup());
    const out = join(dir.path, 'RESULTS.md');
    const before = '# Tether vs ws vs Socket.IO\n\nthe comparison\n\n';
    const after = '\n\n## Later\n';
    writeFileSync(out, `${before}<!-- cluster:begin -->\nOLD TABLE\n<!-- cluster:end -->${after}`);

    const { code, stdout, stderr } = await run(['--quick', '--json', '--out', out]);
    expect(code, stderr).toBe(0);
    const report = JSON.parse(stdout) as Report;
    const setups = report.withWorkers
      ? (['oneNode', 'threeNodes', 'oneWorker', 'twoWorkers'] as const)
      : (['oneNode', 'threeNodes'] as const);
    if (!report.withWorkers) {
      expect(report.results.oneWorker).toBeUndefined();
      expect(report.results.twoWorkers).toBeUndefined();
    }
    for (const key of setups) {
      const r = report.results[key] as SetupResult;
      expect(r.failures, key).toEqual([]);
      expect(r.rounds).toHaveLength(report.options.rounds);
      expect({ lost: r.lost, duplicates: r.duplicates, skipped: r.skipped, gaps: r.gaps }).toEqual({
        lost: 0,
        duplicates: 0,
        skipped: 0,
        gaps: 0,
      });
      expect(r.subscribers).toBe(report.options.subscribers);
      expect(r.publications).toBeGreaterThan(0);
      expect(r.deliveredPerSecond).toBeGreaterThan(0);
      expect(r.deliveredPerHubCpuSecond).toBeGreaterThan(0);
      expect(r.hubCpuPercent).toBeGreaterThan(0);
      expect(Number.isFinite(r.redisCpuPercent)).toBe(true);
      // Every latency publication, at every subscriber.
      expect(r.latencyPublications).toBe((report.options.rate * report.options.latencyMs) / 1000);
      expect(r.latency.count).toBe(r.latencyPublications * r.subscribers);
      expect(r.latency.p50Ms).toBeGreaterThan(0);
      expect(r.latency.p99Ms).toBeGreaterThanOrEqual(r.latency.p50Ms);
    }
    expect(report.results.oneNode?.processes).toBe(1);
    expect(report.results.threeNodes?.processes).toBe(3);

    const written = readFileSync(out, 'utf8');
    expect(written.startsWith(before)).toBe(true);
    expect(written.endsWith(after)).toBe(true);
    expect(written).not.toContain('OLD TABLE');
    expect(written.split('<!-- cluster:begin -->')).toHaveLength(2);
    expect(written.split('<!-- cluster:end -->')).toHaveLength(2);
    expect(written).toMatch(
      /\| publish-to-deliver latency p99 \(lower is better\) \| [\d.]+ ms \| [\d.]+ ms \| [\d.]+× \|/,
    );
    expect(written).toMatch(/- Load average \(1\/5\/15 min\) at the start: /);
    expect(written).toMatch(/- Versions: node v\d+/);
    if (!report.withWorkers) expect(written).toContain('`--workers`: not measured');
  }, 150_000);
});
