/**
 * Pooled randomness (issue 13): ids and resume tokens are cut from blocks of CSPRNG
 * bytes. Each byte must be handed out once: across many blocks, every id is distinct and
 * has its full length, also for sizes that do not divide the block.
 */
import { describe, expect, it } from 'vitest';
import { randomId } from '../src/random-id.js';

describe('randomId', () => {
  it('hands out distinct ids of the asked length across many pool refills', () => {
    const seen = new Set<string>();
    // 3,000 x (9 + 12 + 24) bytes = 135,000 bytes: dozens of 4 KiB blocks, ends unaligned.
    for (let i = 0; i < 3_000; i += 1) {
      for (const bytes of [9, 12, 24]) {
        const id = randomId(bytes);
        expect(Buffer.from(id, 'base64url').length).toBe(bytes);
        expect(seen.has(id)).toBe(false);
        seen.add(id);
      }
    }
  });

  it('is never all zero bytes (used bytes are zeroed, never handed out again)', () => {
    const zero = Buffer.alloc(12).toString('base64url');
    for (let i = 0; i < 2_000; i += 1) expect(randomId(12)).not.toBe(zero);
  });

  it('serves sizes larger than the pool directly', () => {
    expect(Buffer.from(randomId(10_000), 'base64url').length).toBe(10_000);
  });
});
