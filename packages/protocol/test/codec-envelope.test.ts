/**
 * The message envelope: JSON, one frame or a batch, the frame type and who
 * may send it. Whole-message problems (BAD_JSON, BAD_BATCH) throw; every
 * other problem is a per-frame result, so one bad frame in a batch does not
 * discard its neighbours.
 */
import { describe, expect, it } from 'vitest';
import {
  CLIENT_FRAME_TYPES,
  type Decoded,
  type DecodeOptions,
  decodeMessage,
  ErrorCode,
  type ErrorCodeName,
  encodeFrame,
  type Frame,
  joinEncoded,
  ProtocolError,
  SERVER_FRAME_TYPES,
  type Sender,
  WIRE_LIMITS,
} from '../src/index.js';
import { CLIENT_EXAMPLES, SERVER_EXAMPLES } from './fixtures.js';

function decodeAll(text: string, sender: Sender, options?: DecodeOptions): Decoded<Frame>[] {
  return sender === 'client'
    ? decodeMessage(text, 'client', options)
    : decodeMessage(text, 'server', options);
}

function thrownBy(fn: () => unknown): ProtocolError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ProtocolError);
    return err as ProtocolError;
  }
  throw new Error('expected a ProtocolError to be thrown');
}

function errorOf(result: Decoded<Frame> | undefined, code: ErrorCodeName): ProtocolError {
  if (result === undefined || result.ok)
    throw new Error(`expected ${code}, got ${JSON.stringify(result)}`);
  expect(result.error).toBeInstanceOf(ProtocolError);
  expect(result.error.code).toBe(code);
  return result.error;
}

const PING = encodeFrame(CLIENT_EXAMPLES.ping);

describe('BAD_JSON', () => {
  const texts = [
    '',
    ' ',
    '{',
    '{"t":"ping",}',
    "{'t':'ping'}",
    'undefined',
    'NaN',
    '{"t":"ping","ts":01}',
    '[1,]',
    `${PING}x`,
    '\u0000',
  ];
  for (const text of texts) {
    it(`throws BAD_JSON for ${JSON.stringify(text)}`, () => {
      for (const sender of ['client', 'server'] as const) {
        const err = thrownBy(() => decodeAll(text, sender));
        expect(err.code).toBe(ErrorCode.BAD_JSON);
        expect(err.message).toMatch(/^not valid JSON/);
        expect(err.ref).toBeUndefined();
        expect(err.retryable).toBe(false);
        expect(err.name).toBe('ProtocolError');
      }
    });
  }
});

describe('BAD_FRAME', () => {
  it('a JSON scalar or null is one BAD_FRAME result without a ref', () => {
    for (const text of ['1', '-2.5', '"hello"', 'true', 'false', 'null']) {
      const results = decodeAll(text, 'client');
      expect(results).toHaveLength(1);
      const err = errorOf(results[0], ErrorCode.BAD_FRAME);
      expect(err.message).toBe('a frame must be a JSON object');
      expect(err.ref).toBeUndefined();
    }
  });

  it('a batch item that is not an object is BAD_FRAME with its index', () => {
    const results = decodeAll(`[${PING},1,null,"x",[${PING}],{},${PING}]`, 'client');
    expect(results).toHaveLength(7);
    expect(results[0]?.ok).toBe(true);
    expect(results[6]?.ok).toBe(true);
    for (const index of [1, 2, 3, 4]) {
      expect(errorOf(results[index], ErrorCode.BAD_FRAME).ref).toEqual({ index });
    }
    // `{}` is an object without t.
    expect(errorOf(results[5], ErrorCode.BAD_FRAME).ref).toEqual({ index: 5 });
  });

  it('an object without a string t is BAD_FRAME, with the correlating fields it has', () => {
    for (const frame of [
      {},
      { ts: 1 },
      { t: 1 },
      { t: null },
      { t: ['ping'] },
      { t: { x: 1 } },
      { T: 'ping' },
    ]) {
      const err = errorOf(decodeAll(JSON.stringify(frame), 'server')[0], ErrorCode.BAD_FRAME);
      expect(err.message).toMatch(/"t"/);
    }
    const err = errorOf(
      decodeAll('{"id":5,"seq":3,"topic":"a","data":1}', 'client')[0],
      ErrorCode.BAD_FRAME,
    );
    expect(err.ref).toEqual({ id: 5, seq: 3, topic: 'a' });
  });
});

describe('UNKNOWN_TYPE', () => {
  it('a type nobody defines is UNKNOWN_TYPE for both senders', () => {
    for (const t of [
      'nope',
      '',
      'PING',
      'ping ',
      'constructor',
      '__proto__',
      'toString',
      'hasOwnProperty',
    ]) {
      for (const sender of ['client', 'server'] as const) {
        const err = errorOf(decodeAll(JSON.stringify({ t }), sender)[0], ErrorCode.UNKNOWN_TYPE);
        expect(err.message).toContain(`from a ${sender}`);
        expect(err.ref?.t).toBe(t);
      }
    }
  });

  it('server-only types sent by a client are UNKNOWN_TYPE, even when otherwise valid', () => {
    const serverOnly = SERVER_FRAME_TYPES.filter(
      (t) => !(CLIENT_FRAME_TYPES as readonly string[]).includes(t),
    );
    expect([...serverOnly].sort()).toEqual([
      'authed',
      'goodbye',
      'pub',
      'published',
      'pubs',
      'refresh',
      'subscribed',
      'unsubscribed',
      'welcome',
    ]);
    for (const frame of Object.values(SERVER_EXAMPLES).filter((f) => serverOnly.includes(f.t))) {
      const err = errorOf(decodeAll(encodeFrame(frame), 'client')[0], ErrorCode.UNKNOWN_TYPE);
      expect(err.message).toBe(`unknown frame type "${frame.t}" from a client`);
    }
  });

  it('client-only types sent by a server are UNKNOWN_TYPE', () => {
    const clientOnly = CLIENT_FRAME_TYPES.filter(
      (t) => !(SERVER_FRAME_TYPES as readonly string[]).includes(t),
    );
    expect([...clientOnly].sort()).toEqual(['auth', 'hello', 'publish', 'sub', 'unsub']);
    for (const frame of Object.values(CLIENT_EXAMPLES).filter((f) => clientOnly.includes(f.t))) {
      errorOf(decodeAll(encodeFrame(frame), 'server')[0], ErrorCode.UNKNOWN_TYPE);
    }
  });

  it('a long type is shortened in the message and left out of the ref', () => {
    const t = 'x'.repeat(100);
    const err = errorOf(
      decodeAll(JSON.stringify({ t, id: 9 }), 'client')[0],
      ErrorCode.UNKNOWN_TYPE,
    );
    expect(err.message).toBe(`unknown frame type "${'x'.repeat(32)}…" from a client`);
    expect(err.ref).toEqual({ id: 9 });
  });

  it('in a batch the ref carries the index', () => {
    const results = decodeAll(`[${PING},{"t":"welcome"}]`, 'client');
    expect(results[0]?.ok).toBe(true);
    expect(errorOf(results[1], ErrorCode.UNKNOWN_TYPE).ref).toEqual({ t: 'welcome', index: 1 });
  });
});

describe('BAD_BATCH', () => {
  it('an empty array throws BAD_BATCH', () => {
    for (const text of ['[]', ' [ ] ']) {
      const err = thrownBy(() => decodeAll(text, 'client'));
      expect(err.code).toBe(ErrorCode.BAD_BATCH);
      expect(err.message).toBe(`a batch holds 1-${WIRE_LIMITS.maxBatch} frames, got 0`);
    }
  });

  it('accepts exactly maxBatch frames and throws for one more', () => {
    const full = Array.from({ length: WIRE_LIMITS.maxBatch }, () => PING);
    expect(decodeAll(joinEncoded(full), 'client')).toHaveLength(WIRE_LIMITS.maxBatch);
    const err = thrownBy(() => decodeAll(joinEncoded([...full, PING]), 'client'));
    expect(err.code).toBe(ErrorCode.BAD_BATCH);
    expect(err.message).toContain(`got ${WIRE_LIMITS.maxBatch + 1}`);
  });

  it('options.maxBatch lowers the limit but never raises it past the wire limit', () => {
    const four = joinEncoded([PING, PING, PING, PING]);
    expect(thrownBy(() => decodeAll(four, 'client', { maxBatch: 3 })).code).toBe(
      ErrorCode.BAD_BATCH,
    );
    expect(decodeAll(four, 'client', { maxBatch: 4 })).toHaveLength(4);
    const over = joinEncoded(Array.from({ length: WIRE_LIMITS.maxBatch + 1 }, () => PING));
    expect(thrownBy(() => decodeAll(over, 'server', { maxBatch: 10_000 })).code).toBe(
      ErrorCode.BAD_BATCH,
    );
  });

  it('the batch limit counts items, not valid frames', () => {
    const mixed = `[${Array.from({ length: 4 }, (_, i) => (i % 2 ? PING : '7')).join(',')}]`;
    expect(thrownBy(() => decodeAll(mixed, 'client', { maxBatch: 3 })).code).toBe(
      ErrorCode.BAD_BATCH,
    );
  });
});

describe('batches with bad frames among good ones', () => {
  it('returns one result per item, in order, each with its own error and index', () => {
    const items = [
      encodeFrame(CLIENT_EXAMPLES.hello),
      '{"t":"msg","seq":0,"data":1}',
      encodeFrame(CLIENT_EXAMPLES.msg),
      '{"t":"welcome"}',
      '42',
      encodeFrame(CLIENT_EXAMPLES.sub),
      '{"t":"sub","topic":"no spaces"}',
      encodeFrame(CLIENT_EXAMPLES.publish),
    ];
    const results = decodeAll(`[${items.join(',')}]`, 'client');
    expect(results.map((r) => (r.ok ? r.frame.t : r.error.code))).toEqual([
      'hello',
      'BAD_FIELD',
      'msg',
      'UNKNOWN_TYPE',
      'BAD_FRAME',
      'sub',
      'BAD_FIELD',
      'publish',
    ]);
    expect(results.map((r) => (r.ok ? undefined : r.error.ref?.index))).toEqual([
      undefined,
      1,
      undefined,
      3,
      4,
      undefined,
      6,
      undefined,
    ]);
  });

  it('a batch of one is still a batch: its error carries index 0', () => {
    const results = decodeAll('[{"t":"ack"}]', 'server');
    expect(results).toHaveLength(1);
    expect(errorOf(results[0], ErrorCode.BAD_FIELD).ref).toEqual({ t: 'ack', index: 0 });
  });

  it('a single bad frame outside a batch carries no index', () => {
    const err = errorOf(decodeAll('{"t":"ack"}', 'server')[0], ErrorCode.BAD_FIELD);
    expect(err.ref).toEqual({ t: 'ack' });
  });
});
