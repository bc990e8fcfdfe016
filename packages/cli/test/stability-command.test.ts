/** `tether stability`: the suite as a subcommand (`npm run stability` calls it). */
import { describe, expect, it } from 'vitest';
import { main } from '../src/index.js';
import { parseStabilityArgs } from '../src/stability/command.js';
import { capture } from './cli-helpers.js';

describe('tether stability', () => {
  it('--help prints its options and exits 0; tether --help lists it', async () => {
    const io = capture();
    expect(await main(['stability', '--help'], { io })).toBe(0);
    expect(io.out.join('\n')).toContain('Usage: tether stability');
    expect(io.out.join('\n')).toContain('--long-lived');
    const top = capture();
    expect(await main(['--help'], { io: top })).toBe(0);
    expect(top.out.join('\n')).toMatch(/^\s+stability\s/m);
  });

  it('a usage error names the flag and exits 2', async () => {
    for (const [argv, text] of [
      [['stability', '--nope'], '--nope'],
      [['stability', '--hub', 'remote'], '--hub'],
      [['stability', '--long-lived', 'soon'], '--long-lived'],
      [['stability', '--only', 'chaos,nope'], '--only: unknown check "nope"'],
    ] as const) {
      const io = capture();
      expect(await main(argv, { io }), argv.join(' ')).toBe(2);
      expect(io.err.join('\n')).toContain(text);
    }
  });

  it('--only runs the named checks in the suite order; --quick keeps the netns faults detectable', () => {
    const args = parseStabilityArgs(['--only', 'netns,endpoints', '--quick']);
    expect(args.checks.map((c) => c.name)).toEqual(['endpoints', 'netns']);
    const o = args.options;
    const bound = o.heartbeatIntervalMs + o.heartbeatTimeoutMs + 1_000;
    expect(o.netnsBlackHoleMs).toBeGreaterThan(bound);
    expect(o.netnsFlapMs).toBeGreaterThan(bound);
    expect(parseStabilityArgs([]).checks).toHaveLength(6);
  });
});
