import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { withTimeout } from '@tether/testkit';
import { afterEach, describe, expect, it, type TestContext } from 'vitest';
import { parseBenchArgs } from '../src/bench/args.js';
import { LatencyRecorder } from '../src/bench/histogram.js';
import { startInProcessHub } from '../src/bench/hub.js';
import { LocalPool } from '../src/bench/pool.js';
import type { BenchReport } from '../src/bench/run.js';
import {
  reconnectCurve,
  STORM_WORKER_NICE,
  stormDeadlineMs,
} from '../src/bench/scenarios/storm.js';
import { formatTable } from '../src/bench/table.js';
import { main } from '../src/index.js';
import { capture, runNode } from './cli-helpers.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

const SMALL = [
  '--hub',
  'in-process',
  '--duration',
  '300ms',
  '--warmup',
  '100ms',
  '--hold',
  '100ms',
];

/** `tether bench ...args` in this process; its exit status and what it printed. */
async function bench(
  args: readonly string[],
  timeoutMs: number,
): Promise<{ code: number; text: string }> {
  const io = capture();
  const code = await withTimeout(main(['bench', ...args], { io }), timeoutMs, 'bench finished');
  return { code, text: io.out.join('\n') };
}

/**
 * `tether bench ...args` from the built bin in a process of its own (after `nodeArgs`);
 * skips the test where packages/cli/dist is not built.
 */
function builtBench(
  context: TestContext,
  args: readonly string[],
  options: Parameters<typeof runNode>[1],
  nodeArgs: readonly string[] = [],
): ReturnType<typeof runNode> {
  if (!existsSync(fileURLToPath(new URL('../dist/bench/worker.js', import.meta.url)))) {
    context.skip('packages/cli/dist is not built (npm run build)');
  }
  const bin = fileURLToPath(new URL('../bin/tether.js', import.meta.url));
  return runNode([...nodeArgs, bin, 'bench', ...args], options);
}

function metric(report: BenchReport, scenario: string, key: string): number | null | undefined {
  return report.scenarios.find((s) => s.scenario === scenario)?.metrics.find((m) => m.key === key)
    ?.value;
}

describe('tether bench', () => {
  it('runs idle, fanout and echo against an in-process hub and reports JSON', async () => {
    const { code, text } = await bench(
      [
        'idle',
        'fanout',
        'echo',
        ...SMALL,
        '--connections',
        '60',
        '--subscribers',
        '20',
        '--batch',
        '5',
        '--echo-clients',
        '4',
        '--rate',
        '40',
        '--addresses',
        '3',
        '--json',
      ],
      30_000,
    );
    const report = JSON.parse(text) as BenchReport;
    expect(report.scenarios.flatMap((s) => s.failures)).toEqual([]);
    expect(code).toBe(0);
    expect(report.target.kind).toBe('in-process');
    expect(report.scenarios.map((s) => s.scenario)).toEqual(['idle', 'fanout', 'echo']);
    expect(metric(report, 'idle', 'connections')).toBe(60);
    expect(metric(report, 'idle', 'connectRatePerSec')).toBeGreaterThan(0);
    expect(metric(report, 'fanout', 'subscribers')).toBe(20);
    expect(metric(report, 'fanout', 'deliveredPerSec')).toBeGreaterThan(0);
    expect(metric(report, 'echo', 'p50Ms')).toBeGreaterThan(0);
    expect(metric(report, 'echo', 'p99Ms')).toBeGreaterThanOrEqual(
      metric(report, 'echo', 'p50Ms') as number,
    );
    expect(report.machine.cores).toBeGreaterThan(0);
  });

  it('storms 200 clients through a drained restart and an abrupt one: all resume, nothing lost', async () => {
    const { code, text } = await bench(
      [
        'storm',
        '--hub',
        'in-process',
        '--storm-clients',
        '200',
        '--retry-after',
        '100ms',
        '--retry-spread',
        '200ms',
        '--addresses',
        '3',
        '--json',
      ],
      90_000,
    );
    const report = JSON.parse(text) as BenchReport;
    const storm = report.scenarios.find((s) => s.scenario === 'storm');
    expect(storm?.failures).toEqual([]);
    expect(code).toBe(0);
    expect(metric(report, 'storm', 'clients')).toBe(200);
    expect(metric(report, 'storm', 'addresses')).toBe(3);
    for (const phase of ['graceful', 'kill']) {
      expect(metric(report, 'storm', `${phase}.resumed`)).toBe(200);
      expect(metric(report, 'storm', `${phase}.notResumed`)).toBe(0);
      // The verdict holds every client to the phase's deadline; here: that it was measured.
      expect(metric(report, 'storm', `${phase}.allBackMs`)).not.toBeNull();
      expect(metric(report, 'storm', `${phase}.deadlineMs`)).toBeGreaterThan(0);
      expect(metric(report, 'storm', `${phase}.peakReconnectsPerSec`)).toBeGreaterThan(0);
      expect(metric(report, 'storm', `${phase}.serverCpuPeakPercent`)).not.toBeNull();
      for (const p of ['P50', 'P99', 'Max']) {
        expect(metric(report, 'storm', `${phase}.loopDelay${p}Ms`)).not.toBeNull();
      }
      const curve = storm?.series?.find((c) => c.key === `${phase}.resumesPerBucket`);
      expect(curve?.bucketMs).toBe(250);
      expect(curve?.values.reduce((a, b) => a + b, 0)).toBe(200);
      // Where the attempts spent their time: both sides saw every client come back.
      const total = (key: string) =>
        storm?.series?.find((c) => c.key === `${phase}.${key}`)?.values.reduce((a, b) => a + b, 0);
      expect(total('clientWelcomesPerBucket')).toBeGreaterThanOrEqual(200);
      expect(total('serverWelcomesPerBucket')).toBeGreaterThanOrEqual(200);
      expect(total('serverUpgradesPerBucket')).toBeGreaterThanOrEqual(200);
      expect(metric(report, 'storm', `${phase}.attempt.welcomeP50Ms`)).toBeGreaterThan(0);
    }
    expect(metric(report, 'storm', 'published')).toBeGreaterThan(0);
    expect(metric(report, 'storm', 'delivered')).toBe(
      200 * (metric(report, 'storm', 'published') as number),
    );
    expect(metric(report, 'storm', 'lost')).toBe(0);
    expect(metric(report, 'storm', 'duplicated')).toBe(0);
    expect(metric(report, 'storm', 'reordered')).toBe(0);
  });

  it('prints the storm as a table with its curves, and runs one restart when asked', async () => {
    const { code, text } = await bench(
      [
        'storm',
        '--hub',
        'in-process',
        '--storm-clients',
        '8',
        '--storm-restart',
        'graceful',
        '--retry-after',
        '100ms',
        '--retry-spread',
        '200ms',
      ],
      45_000,
    );
    expect(text).toMatch(/storm\s+clients\s+8/);
    expect(text).toMatch(/graceful restart: time until all resumed/);
    expect(text).not.toMatch(/SIGKILL/);
    expect(text).toMatch(/graceful restart: sessions resumed\s+8\n/);
    expect(text).toMatch(/curve \(storm\) graceful restart: resumes per 250 ms/);
    expect(text).toMatch(/lost\s+0\n/);
    expect(text).toMatch(/duplicated\s+0\n/);
    expect(text).toMatch(/result: PASS$/);
    expect(code).toBe(0);
  });

  it('spreads connections over source addresses and counts fan-out deliveries', async () => {
    const hub = await startInProcessHub({ host: '127.0.0.1', port: 0 });
    cleanups.push(() => hub.close());
    const pool = new LocalPool();
    cleanups.push(() => pool.closeAll());
    const opened = await pool.open({
      url: hub.url,
      count: 9,
      addresses: ['127.0.0.1', '127.0.0.2', '127.0.0.3'],
      concurrency: 3,
      adapter: 'tether',
      timeoutMs: 10_000,
    });
    expect(opened).toMatchObject({ opened: 9, failed: 0 });
    expect(await pool.subscribeAll('t', 5_000)).toBe(9);
    await hub.publish({ topic: 't', count: 7, payloadBytes: 8, first: 1 });
    expect(await pool.waitDelivered(7, 5_000)).toBe(63);
  });

  it('rejects bad command lines with exit status 2', async () => {
    for (const [args, message] of [
      [['nap'], /unknown scenario "nap"/],
      [['--connections', '0'], /--connections: must be at least 1/],
      [['storm', '--url', 'ws://127.0.0.1:1/ws'], /storm restarts the server/],
      [['--store', 'redis://x'], /--store: expected memory or sqlite:PATH/],
      [['--url', 'ws://127.0.0.1:1/ws', '--hub', 'child'], /--hub: only for the bench's own hub/],
    ] as const) {
      const io = capture();
      expect(await main(['bench', ...args], { io })).toBe(2);
      expect(io.err.join('\n')).toMatch(message);
    }
    expect(parseBenchArgs([]).scenarios).toEqual(['idle', 'fanout', 'echo', 'storm']);
    expect(parseBenchArgs(['--url', 'ws://h:1/ws']).scenarios).toEqual(['idle', 'fanout', 'echo']);
  });

  it('gives the storm its deadlines and draws its reconnect curve', () => {
    const args = parseBenchArgs(['storm']);
    expect(args.stormRestart).toBe('both');
    // 200 clients: the server's spread is its 4 s floor; hint 1 s + up to 4 s, the client
    // waits up to twice its hint: 10 s, + 5 s.
    expect(stormDeadlineMs('graceful', args)).toBe(15_000);
    // 10,000 clients: the server spreads over 10 s (1,000/s): hint up to 11 s, 22 s + 5 s.
    expect(stormDeadlineMs('graceful', parseBenchArgs(['storm', '--storm-clients', '10000']))).toBe(
      27_000,
    );
    // Once the clients were given their hints, the largest one sets the window.
    expect(stormDeadlineMs('graceful', args, 7_000)).toBe(19_000);
    // No hint: the client's maximum backoff (30 s) + 5 s.
    expect(stormDeadlineMs('kill', args)).toBe(35_000);
    expect(
      stormDeadlineMs(
        'graceful',
        parseBenchArgs(['--retry-after', '100ms', '--retry-spread', '0']),
      ),
    ).toBe(5_600);
    expect(reconnectCurve([1_000, 1_100, 1_300, 1_900], 1_000, 250)).toEqual([2, 1, 0, 1]);
    expect(reconnectCurve([], 1_000, 250)).toEqual([]);
    expect(() => parseBenchArgs(['--storm-restart', 'soft'])).toThrow(/--storm-restart/);
  });

  it('merges latency histograms and formats tables', () => {
    const a = new LatencyRecorder();
    const b = new LatencyRecorder();
    for (let i = 1; i <= 100; i += 1) a.recordMs(i / 10);
    b.recordMs(50);
    a.merge(b.encode());
    const s = a.summary();
    expect(s.count).toBe(101);
    expect(s.p50Ms).toBeCloseTo(5.1, 1);
    expect(s.maxMs).toBeCloseTo(50, 0);
    expect(
      formatTable(
        ['a', 'n'],
        [
          ['x', 1],
          ['longer', 1234],
        ],
      ),
    ).toEqual(['a          n', '------  ----', 'x          1', 'longer  1234']);
  });

  it('the built bin runs with a child hub and worker processes', async (context) => {
    const { code, stdout } = await builtBench(
      context,
      [
        'idle',
        'fanout',
        '--connections',
        '200',
        '--subscribers',
        '50',
        '--workers',
        '2',
        '--duration',
        '300ms',
        '--warmup',
        '100ms',
        '--hold',
        '100ms',
        '--json',
      ],
      { timeoutMs: 40_000, what: 'bench process exited', stderr: 'inherit' },
    );
    const report = JSON.parse(stdout) as BenchReport;
    expect(report.scenarios.flatMap((s) => s.failures)).toEqual([]);
    expect(code).toBe(0);
    expect(report.target.kind).toBe('child');
    expect(report.workers).toBe(2);
    expect(metric(report, 'idle', 'connections')).toBe(200);
    expect(metric(report, 'idle', 'rssPerConnectionKiB')).not.toBeNull();
    // Both sides of the connects, each from its own processes' CPU time.
    expect(metric(report, 'idle', 'serverCpuPerConnectUs')).toBeGreaterThan(0);
    expect(metric(report, 'idle', 'clientCpuPerConnectUs')).toBeGreaterThan(0);
  });

  it('the built bin storms a child hub from worker processes: hints honoured, SIGKILL survived', async (context) => {
    const { code, stdout } = await builtBench(
      context,
      [
        'storm',
        '--storm-clients',
        '200',
        '--workers',
        '2',
        '--retry-after',
        '1s',
        '--retry-spread',
        '500ms',
        '--json',
      ],
      { timeoutMs: 120_000, what: 'bench storm process exited', stderr: 'inherit' },
    );
    const report = JSON.parse(stdout) as BenchReport;
    const storm = report.scenarios.find((s) => s.scenario === 'storm');
    expect(storm?.failures).toEqual([]);
    expect(code).toBe(0);
    expect(metric(report, 'storm', 'workers')).toBe(2);
    // The clients yield to the hub they measure.
    expect(metric(report, 'storm', 'workerNice')).toBe(STORM_WORKER_NICE);
    for (const phase of ['graceful', 'kill']) {
      expect(metric(report, 'storm', `${phase}.resumed`)).toBe(200);
      expect(metric(report, 'storm', `${phase}.loopDelayP99Ms`)).not.toBeNull();
    }
    // A drained restart hints at least 1 s: no client may be back in the first second
    // (a restart that silently became a kill would bring them back at once).
    const graceful = storm?.series?.find((c) => c.key === 'graceful.resumesPerBucket');
    const firstBack = graceful?.values.findIndex((n) => n > 0) ?? -1;
    expect(firstBack * (graceful?.bucketMs ?? 0)).toBeGreaterThanOrEqual(1_000);
    expect(metric(report, 'storm', 'lost')).toBe(0);
    expect(metric(report, 'storm', 'duplicated')).toBe(0);
    expect(metric(report, 'storm', 'reordered')).toBe(0);
  });

  it('the built bin ends a tool on an unexpected error with one line, not a stack trace', async (context) => {
    // An error nobody catches, thrown while the storm runs (it takes longer than 1.5 s).
    const boom = `setTimeout(() => { throw Object.assign(new Error('boom'), { code: 'EBOOM' }); }, 1500);`;
    const { code, stdout, stderr } = await builtBench(
      context,
      ['storm', '--storm-clients', '2', '--storm-restart', 'graceful', '--json'],
      { timeoutMs: 60_000, what: 'tether exited', stderr: 'capture' },
      ['--import', `data:text/javascript,${encodeURIComponent(boom)}`],
    );
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr.trim()).toBe('tether bench: internal error: boom (EBOOM)');
  });
});
