/**
 * Property tests: whatever text arrives, decodeMessage either throws a
 * ProtocolError for the whole message (BAD_JSON, BAD_BATCH) or returns one
 * well-formed result per frame. No other exception, no INTERNAL error (that
 * would mean a validator bug), and every error it reports can itself be sent
 * as a valid `error` frame. An independent statement of the field rules
 * (oracle.ts) must agree with the codec on every item.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CLIENT_FRAME_TYPES,
  type Decoded,
  decodeMessage,
  ErrorCode,
  encodeFrame,
  type Frame,
  joinEncoded,
  ProtocolError,
  SERVER_FRAME_TYPES,
  type Sender,
} from '../src/index.js';
import { mutatedMessage, someFrame, validFrame } from './arbitraries.js';
import { copyOf } from './fixtures.js';
import { expectedOutcome } from './oracle.js';

const NUM_RUNS = 2000;
const SENDERS = ['client', 'server'] as const;
const CODES = new Set<string>(Object.values(ErrorCode));
const WHOLE_MESSAGE_CODES = new Set<string>([ErrorCode.BAD_JSON, ErrorCode.BAD_BATCH]);

function decodeAll(text: string, sender: Sender): Decoded<Frame>[] {
  return sender === 'client' ? decodeMessage(text, 'client') : decodeMessage(text, 'server');
}

/** Decodes `text` and checks the outcome is well-formed; returns the results, or undefined if it threw. */
function decodeChecked(text: string, sender: Sender): Decoded<Frame>[] | undefined {
  let results: Decoded<Frame>[];
  try {
    results = decodeAll(text, sender);
  } catch (err) {
    expect(err).toBeInstanceOf(ProtocolError);
    expect(WHOLE_MESSAGE_CODES.has((err as ProtocolError).code)).toBe(true);
    return undefined;
  }
  const allowed: readonly string[] = sender === 'client' ? CLIENT_FRAME_TYPES : SERVER_FRAME_TYPES;
  const parsed = JSON.parse(text) as unknown;
  const items: unknown[] = Array.isArray(parsed) ? parsed : [parsed];
  expect(results.length).toBe(items.length);
  results.forEach((result, index) => {
    expect(result.ok ? 'ok' : result.error.code).toBe(expectedOutcome(items[index], sender));
    if (result.ok) {
      const { frame } = result;
      expect(typeof frame === 'object' && frame !== null && !Array.isArray(frame)).toBe(true);
      expect(typeof frame.t).toBe('string');
      expect(allowed).toContain(frame.t);
    } else {
      const { error } = result;
      expect(error).toBeInstanceOf(ProtocolError);
      expect(CODES.has(error.code)).toBe(true);
      expect(error.code).not.toBe(ErrorCode.INTERNAL);
      expect(WHOLE_MESSAGE_CODES.has(error.code)).toBe(false);
      expect(error.ref?.index).toBe(Array.isArray(parsed) ? index : undefined);
      // What a server would send back is itself a valid frame, of a bounded size.
      const reply = JSON.stringify(error.toFrame());
      expect(reply.length).toBeLessThan(2048);
      expect(decodeMessage(reply, 'server')[0]?.ok).toBe(true);
    }
  });
  return results;
}

describe('decodeMessage properties', () => {
  for (const sender of SENDERS) {
    describe(`sender ${sender}`, () => {
      it('random strings: only ProtocolError, well-formed, as the field rules predict', () => {
        const text = fc.oneof(
          fc.string(),
          fc.string({ unit: 'binary' }),
          fc.string({
            unit: fc.constantFrom('{', '}', '[', ']', '"', ':', ',', 't', 'ping', '1', 'null', ' '),
          }),
        );
        fc.assert(
          fc.property(text, (t) => void decodeChecked(t, sender)),
          { numRuns: NUM_RUNS },
        );
      });

      it('random JSON values: only ProtocolError, well-formed, as the field rules predict', () => {
        const values = fc.oneof(
          fc.jsonValue(),
          fc
            .anything()
            .map((v) => JSON.stringify(v))
            .filter((s): s is string => typeof s === 'string')
            .map((s) => JSON.parse(s) as unknown),
          fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 5 }),
          fc.dictionary(
            fc.constantFrom('t', 'id', 'seq', 'topic', 'data', 'v', 'ts'),
            fc.jsonValue({ maxDepth: 1 }),
          ),
        );
        fc.assert(
          fc.property(values, (v) => void decodeChecked(JSON.stringify(v), sender)),
          { numRuns: NUM_RUNS },
        );
      });

      it('mutated valid frames: only ProtocolError, well-formed, as the field rules predict', () => {
        fc.assert(
          fc.property(mutatedMessage(sender), (text) => void decodeChecked(text, sender)),
          { numRuns: NUM_RUNS },
        );
      });

      it('generated valid frames decode to themselves', () => {
        fc.assert(
          fc.property(validFrame(sender), (frame) => {
            const text = encodeFrame(frame);
            expect(decodeChecked(text, sender)).toEqual([{ ok: true, frame: JSON.parse(text) }]);
          }),
          { numRuns: NUM_RUNS },
        );
      });

      it('batches of valid frames decode to the same frames in order', () => {
        fc.assert(
          fc.property(fc.array(someFrame(sender), { minLength: 1, maxLength: 8 }), (frames) => {
            const encoded = frames.map(encodeFrame);
            const results = decodeChecked(joinEncoded(encoded), sender);
            expect(results).toEqual(encoded.map((text) => ({ ok: true, frame: JSON.parse(text) })));
          }),
          { numRuns: NUM_RUNS / 4 },
        );
      });

      it('junk fields never change whether a frame is valid', () => {
        const junk = fc.dictionary(
          fc.string().map((k) => `x_${k}`),
          fc.jsonValue({ maxDepth: 2 }),
          { minKeys: 1, maxKeys: 4 },
        );
        fc.assert(
          fc.property(someFrame(sender), junk, (frame, extra) => {
            const text = JSON.stringify({ ...copyOf(frame), ...extra });
            const [result] = decodeChecked(text, sender) ?? [];
            expect(result?.ok).toBe(true);
          }),
          { numRuns: NUM_RUNS / 2 },
        );
      });
    });
  }
});
