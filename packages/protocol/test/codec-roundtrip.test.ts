import { describe, expect, it } from 'vitest';
import {
  CLIENT_FRAME_TYPES,
  decodeMessage,
  encodeFrame,
  type Frame,
  isValidTopic,
  joinEncoded,
  SERVER_FRAME_TYPES,
  type Sender,
  validateFrame,
} from '../src/index.js';
import { CLIENT_EXAMPLES, copyOf, examplesOf, SERVER_EXAMPLES } from './fixtures.js';

function decodeOne(text: string, sender: Sender): Frame {
  const results = decodeMessage(text, sender as 'client');
  expect(results).toHaveLength(1);
  const [result] = results;
  if (!result?.ok)
    throw new Error(`expected a valid frame, got ${result?.error.code}: ${result?.error.message}`);
  return result.frame;
}

describe('codec round trip', () => {
  it('has an example of every frame type each side may send', () => {
    const clientTypes = new Set(Object.values(CLIENT_EXAMPLES).map((f) => f.t));
    const serverTypes = new Set(Object.values(SERVER_EXAMPLES).map((f) => f.t));
    expect([...clientTypes].sort()).toEqual([...CLIENT_FRAME_TYPES].sort());
    expect([...serverTypes].sort()).toEqual([...SERVER_FRAME_TYPES].sort());
  });

  for (const sender of ['client', 'server'] as const) {
    for (const [name, frame] of examplesOf(sender)) {
      it(`${sender} ${name}: decodes to itself`, () => {
        const text = encodeFrame(frame);
        expect(decodeOne(text, sender)).toEqual(frame);
        // validateFrame accepts the parsed value as well, and returns it unchanged.
        const parsed = JSON.parse(text) as unknown;
        expect(validateFrame(parsed, sender)).toBe(parsed);
      });
    }
  }

  it('keeps unknown fields (forward compatibility) and still accepts the frame', () => {
    const frame = { ...copyOf(CLIENT_EXAMPLES.msg), x_future: { nested: [1] }, priority: 'high' };
    expect(decodeOne(JSON.stringify(frame), 'client')).toEqual(frame);
    const hello = { ...copyOf(CLIENT_EXAMPLES.hello), caps: ['compression'] };
    expect(decodeOne(JSON.stringify(hello), 'client')).toEqual(hello);
  });

  it('accepts boundary values: 0 where allowed, the largest safe integer, maximum lengths', () => {
    const big = Number.MAX_SAFE_INTEGER;
    const cases: [Sender, Record<string, unknown>][] = [
      ['client', { t: 'ping', ts: 0 }],
      ['client', { t: 'ack', seq: big }],
      ['client', { t: 'msg', seq: big, data: false }],
      ['client', { t: 'req', id: -5, method: 'm'.repeat(128) }],
      ['client', { t: 'req', id: 'i'.repeat(128), method: 'm' }],
      [
        'client',
        { t: 'sub', topic: 't'.repeat(256), from: { epoch: 'e'.repeat(512), offset: 0 }, last: 0 },
      ],
      [
        'client',
        { t: 'hello', v: 1, resume: { sid: 's'.repeat(512), token: 't'.repeat(512), seq: 0 } },
      ],
      ['client', { t: 'hello', v: 1, client: { name: 'n'.repeat(128), version: 'v'.repeat(64) } }],
      ['client', { t: 'hello', v: 1, client: {} }],
      ['client', { t: 'error', code: 'C'.repeat(64), message: '', ref: {} }],
      ['server', { t: 'goodbye', code: 1000, reason: '', retryAfter: 0 }],
      [
        'server',
        { t: 'subscribed', topic: 'a', epoch: 'e', offset: 0, recovered: false, replay: 0 },
      ],
      ['server', { t: 'res', id: 0, ok: false, error: { code: 'TIMEOUT', message: '' } }],
      ['server', { t: 'pub', topic: '_-.:/@#=+', epoch: 'e', offset: 1, data: null, time: 0 }],
      ['server', { t: 'pubs', topic: 'a', epoch: 'e', offset: 1, data: Array(1000).fill(0) }],
      [
        'server',
        { t: 'pubs', topic: 'a', epoch: 'e', offset: Number.MAX_SAFE_INTEGER - 1, data: [1, 2] },
      ],
      ['client', { t: 'hello', v: 1, appPings: false, pubs: true }],
    ];
    for (const [sender, frame] of cases) {
      expect(decodeOne(JSON.stringify(frame), sender)).toEqual(frame);
    }
  });

  it('accepts -0 and exponent notation as integers (they are the same JSON numbers)', () => {
    expect(decodeOne('{"t":"ping","ts":1e3}', 'client')).toEqual({ t: 'ping', ts: 1000 });
    expect(decodeOne('{"t":"ack","seq":-0}', 'client')).toEqual({ t: 'ack', seq: -0 });
  });

  it('accepts any JSON value as data, including null, and non-ASCII text', () => {
    for (const data of [null, 0, -1.5, '', 'ünïcødé ✓ 𝄞', [], {}, [{ a: [null] }], true]) {
      const frame = { t: 'msg', data };
      expect(decodeOne(JSON.stringify(frame), 'server')).toEqual(frame);
    }
  });

  it('a batch of valid frames decodes to the same frames in order', () => {
    for (const sender of ['client', 'server'] as const) {
      const frames = examplesOf(sender).map(([, f]) => f);
      const results = decodeMessage(joinEncoded(frames.map(encodeFrame)), sender as 'client');
      expect(results.map((r) => (r.ok ? r.frame : r.error.code))).toEqual(frames);
    }
  });
});

describe('joinEncoded', () => {
  it('returns a single frame unchanged, without wrapping it', () => {
    const one = encodeFrame(SERVER_EXAMPLES.pub);
    expect(joinEncoded([one])).toBe(one);
  });

  it('joins several frames into a JSON array without re-encoding them', () => {
    // Key order and number formatting chosen by the producer survive: the bytes are not re-encoded.
    const pub = '{"topic":"t","t":"pub","offset":1e0,"epoch":"e","data":{"z":1,"a":2}}';
    const other = encodeFrame(SERVER_EXAMPLES.ack);
    const joined = joinEncoded([other, pub, other]);
    expect(joined).toBe(`[${other},${pub},${other}]`);
    expect(joined.includes(pub)).toBe(true);
    const results = decodeMessage(joined, 'server');
    expect(results.every((r) => r.ok)).toBe(true);
  });

  it('puts byte-identical publication text into every subscriber batch', () => {
    const pub = encodeFrame(SERVER_EXAMPLES.pub);
    const batchA = joinEncoded([encodeFrame({ t: 'ack', seq: 3 }), pub]);
    const batchB = joinEncoded([pub, encodeFrame({ t: 'msg', seq: 9, data: 'x' }), pub]);
    const bytes = new TextEncoder().encode(pub);
    for (const batch of [batchA, batchB]) {
      const at = batch.indexOf(pub);
      expect(at).toBeGreaterThan(0);
      expect(new TextEncoder().encode(batch.slice(at, at + pub.length))).toEqual(bytes);
    }
  });
});

describe('isValidTopic', () => {
  it('accepts 1-256 characters from letters, digits and _ - . : / @ # = +', () => {
    for (const topic of [
      'a',
      'chat:room-1',
      'prices/eur.usd',
      'user@host#1=a+b',
      'x'.repeat(256),
    ]) {
      expect(isValidTopic(topic)).toBe(true);
    }
  });

  it('rejects empty, too long, spaces, non-ASCII and other punctuation', () => {
    for (const topic of ['', 'x'.repeat(257), 'a b', 'é', 'a*', 'a?b', 'a\nb', 'a,b', '$sys']) {
      expect(isValidTopic(topic)).toBe(false);
    }
  });
});
