/** `tether soak`: its bounds (a pure verdict) and its flags. */
import { describe, expect, it } from 'vitest';
import { main } from '../src/index.js';
import { parseSoakArgs } from '../src/soak/command.js';
import { SOAK_DEFAULTS } from '../src/soak/run.js';
import { type SoakSnapshot, soakChecks } from '../src/soak/verdict.js';
import { capture } from './cli-helpers.js';

const MIB = 1_048_576;

const idle = (over: Partial<SoakSnapshot> = {}): SoakSnapshot => ({
  gc: true,
  rssBytes: 70 * MIB,
  heapUsedBytes: 10 * MIB,
  externalBytes: 2 * MIB,
  connections: 0,
  sessions: 0,
  storedSessions: 0,
  pendingHandshakes: 0,
  inFlight: 0,
  subscriptions: 0,
  resources: { PipeWrap: 2, TCPServerWrap: 1, Timeout: 1 },
  published: 1000,
  ...over,
});

const failed = (baseline: SoakSnapshot, end: SoakSnapshot): string[] =>
  soakChecks(baseline, end, { memoryTolerance: 0.1 })
    .filter((check) => !check.ok)
    .map((check) => `${check.name}: ${check.detail}`);

describe('soak verdict', () => {
  it('passes when memory is within 10 % and every registry is back to zero', () => {
    expect(failed(idle(), idle({ rssBytes: 76 * MIB, heapUsedBytes: 10.9 * MIB }))).toEqual([]);
  });

  it('fails RSS or heap grown past the tolerance, naming the growth', () => {
    const out = failed(idle(), idle({ rssBytes: 78 * MIB, heapUsedBytes: 11.5 * MIB }));
    expect(out).toEqual([
      'rss: 70.0 MiB -> 78.0 MiB (11.4 %, bound +10 %)',
      'heap: 10.0 MiB -> 11.5 MiB (15.0 %, bound +10 %)',
    ]);
  });

  it('fails every registry left above zero, and handles beyond the idle baseline', () => {
    const end = idle({
      connections: 1,
      sessions: 3,
      storedSessions: 4,
      subscriptions: 2,
      pendingHandshakes: 1,
      inFlight: 1,
      resources: { PipeWrap: 2, TCPServerWrap: 1, Timeout: 2, TCPSocketWrap: 1 },
    });
    expect(failed(idle(), end)).toEqual([
      'connections: 1 (must be 0)',
      'sessions: 3 (must be 0)',
      'storedSessions: 4 (must be 0)',
      'pendingHandshakes: 1 (must be 0)',
      'inFlight: 1 (must be 0)',
      'subscriptions: 2 (must be 0)',
      'resources: left behind: 1 Timeout, 1 TCPSocketWrap',
    ]);
  });

  it('fails a measurement without a full GC first', () => {
    expect(failed(idle(), idle({ gc: false }))).toEqual(['gc: no --expose-gc']);
  });
});

describe('tether soak flags', () => {
  it('defaults: 50,000 cycles or 2 minutes, 10 % tolerance, the memory store', () => {
    const args = parseSoakArgs([]);
    expect(args.options).toEqual(SOAK_DEFAULTS);
    expect(SOAK_DEFAULTS).toMatchObject({
      cycles: 50_000,
      durationMs: 120_000,
      memoryTolerance: 0.1,
      store: 'memory',
    });
  });

  it('reads --duration, --cycles, --concurrency, --warmup, --store, --resume-window, --tolerance', () => {
    const args = parseSoakArgs([
      '--duration',
      '2m',
      '--cycles=3000',
      '--concurrency',
      '20',
      '--warmup',
      '500',
      '--store',
      'sqlite',
      '--resume-window',
      '500ms',
      '--tolerance',
      '5',
    ]);
    expect(args.options).toMatchObject({
      durationMs: 120_000,
      cycles: 3000,
      concurrency: 20,
      warmupCycles: 500,
      store: 'sqlite',
      resumeWindowMs: 500,
      memoryTolerance: 0.05,
    });
  });

  it('a bad value names its flag', () => {
    expect(() => parseSoakArgs(['--store', 'redis'])).toThrow(/--store/);
    expect(() => parseSoakArgs(['--cycles', '0'])).toThrow(/--cycles/);
    expect(() => parseSoakArgs(['--duration', 'soon'])).toThrow(/--duration/);
    expect(() => parseSoakArgs(['extra'])).toThrow(/soak takes none/);
  });

  it('tether soak --help prints its options; tether --help lists it; a bad flag exits 2', async () => {
    const io = capture();
    expect(await main(['soak', '--help'], { io })).toBe(0);
    expect(io.out.join('\n')).toContain('Usage: tether soak');
    const top = capture();
    expect(await main(['--help'], { io: top })).toBe(0);
    expect(top.out.join('\n')).toMatch(/^\s+soak\s/m);
    const bad = capture();
    expect(await main(['soak', '--store', 'redis'], { io: bad })).toBe(2);
    expect(bad.err.join('\n')).toContain('--store');
  });
});
