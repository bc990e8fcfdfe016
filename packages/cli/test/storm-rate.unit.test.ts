import { describe, expect, it } from 'vitest';
import { BENCH_DEFAULTS, parseBenchArgs, stormRateFor } from '../src/bench/args.js';

describe('storm publication rate', () => {
  it('defaults to 20/s, capped so all clients together get at most 20,000 deliveries/s', () => {
    expect(stormRateFor(parseBenchArgs(['storm']))).toBe(BENCH_DEFAULTS.stormRate);
    const big = parseBenchArgs(['storm', '--storm-clients', '10000']);
    expect(stormRateFor(big)).toBe(2);
    expect(stormRateFor(big) * big.stormClients).toBeLessThanOrEqual(
      BENCH_DEFAULTS.stormDeliveriesPerSec,
    );
  });

  it('--storm-rate decides when given, and a bad value names the flag', () => {
    const args = parseBenchArgs(['storm', '--storm-clients', '10000', '--storm-rate', '20']);
    expect(stormRateFor(args)).toBe(20);
    expect(() => parseBenchArgs(['storm', '--storm-rate', '0'])).toThrow(/storm-rate/);
  });
});
