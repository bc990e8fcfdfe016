/**
 * Every field rule of every frame type: each bad value gets BAD_FIELD with
 * the field named in the message ("req.method: expected ...") and a `ref`
 * that carries the frame's type, its id/seq/topic when those are valid, and
 * its index in a batch.
 */
import { describe, expect, it } from 'vitest';
import {
  type Decoded,
  type DecodeOptions,
  decodeMessage,
  ErrorCode,
  type Frame,
  ProtocolError,
  type Sender,
  validateFrame,
} from '../src/index.js';
import { ABSENT, CLIENT_EXAMPLES, SERVER_EXAMPLES, withField } from './fixtures.js';

const UNSAFE = 2 ** 53;

/** Bad values for each kind of field. */
const BAD = {
  int: (min: number) => [min - 1, 1.5, UNSAFE, -UNSAFE, '1', true, null, [], {}],
  str: (max: number) => ['', 'x'.repeat(max + 1), 5, true, null, [], {}],
  bool: () => ['true', 1, 0, null, [], {}],
  obj: () => ['x', 1, true, null, []],
  topic: () => ['', 'a b', 'x'.repeat(257), 'é', 'a*b', 5, null, [], {}],
  id: () => ['', 'x'.repeat(129), 1.5, UNSAFE, true, null, [], {}],
  anyString: () => [5, true, null, [], {}],
};

interface Rule {
  sender: Sender;
  frame: Frame;
  /** Dotted path of the field, as the error message names it. */
  path: string;
  /** Whether leaving the field out is an error. */
  required: boolean;
  bad: unknown[];
}

const rules: Rule[] = [];
function rule(sender: Sender, frame: Frame, path: string, required: boolean, bad: unknown[]): void {
  rules.push({ sender, frame, path, required, bad });
}

const C = CLIENT_EXAMPLES;
const S = SERVER_EXAMPLES;

// hello (client)
rule('client', C.hello, 'v', true, BAD.int(1));
rule('client', C.hello, 'resume', false, BAD.obj());
rule('client', C.hello, 'resume.sid', true, BAD.str(512));
rule('client', C.hello, 'resume.token', true, BAD.str(512));
rule('client', C.hello, 'resume.seq', true, BAD.int(0));
rule('client', C.hello, 'client', false, BAD.obj());
rule('client', C.hello, 'client.name', false, BAD.str(128));
rule('client', C.hello, 'client.version', false, BAD.str(64));
rule('client', C.hello, 'appPings', false, BAD.bool());
rule('client', C.hello, 'pubs', false, BAD.bool());
// welcome (server)
rule('server', S.welcome, 'v', true, BAD.int(1));
for (const f of ['sid', 'token', 'cid']) rule('server', S.welcome, f, true, BAD.str(512));
rule('server', S.welcome, 'resumed', true, BAD.bool());
rule('server', S.welcome, 'reason', false, ['other', '', 'UNKNOWN', 5, null, true]);
rule('server', S.welcome, 'ack', true, BAD.int(0));
rule('server', S.welcome, 'hb', true, BAD.obj());
rule('server', S.welcome, 'hb.interval', true, BAD.int(1));
rule('server', S.welcome, 'hb.timeout', true, BAD.int(1));
rule('server', S.welcome, 'limits', true, BAD.obj());
for (const f of ['maxMessageBytes', 'rate', 'burst', 'maxBatch']) {
  rule('server', S.welcome, `limits.${f}`, true, BAD.int(1));
}
rule('server', S.welcome, 'resumeWindow', true, BAD.int(0));
rule('server', S.welcome, 'time', true, BAD.int(0));
// frames both sides send: check them from both senders
for (const sender of ['client', 'server'] as const) {
  const X = sender === 'client' ? C : S;
  rule(sender, X.ping, 'ts', true, BAD.int(0));
  rule(sender, X.pong, 'ts', true, BAD.int(0));
  rule(sender, X.pong, 'rts', true, BAD.int(0));
  rule(sender, X.msg, 'seq', false, BAD.int(1));
  rule(sender, X.msg, 'data', true, []);
  rule(sender, X.ack, 'seq', true, BAD.int(0));
  rule(sender, X.req, 'id', true, BAD.id());
  rule(sender, X.req, 'method', true, BAD.str(128));
  rule(sender, X.req, 'seq', false, BAD.int(1));
  rule(sender, X.res, 'id', true, BAD.id());
  rule(sender, X.res, 'ok', true, BAD.bool());
  rule(sender, X['res-error'], 'error', true, BAD.obj());
  rule(sender, X['res-error'], 'error.code', true, BAD.str(64));
  rule(sender, X['res-error'], 'error.message', true, BAD.anyString());
  rule(sender, X.error, 'code', true, BAD.str(64));
  rule(sender, X.error, 'message', true, BAD.anyString());
  rule(sender, X.error, 'ref', false, BAD.obj());
}
// sub, unsub, publish (client)
rule('client', C.sub, 'topic', true, BAD.topic());
rule('client', C.sub, 'from', false, BAD.obj());
rule('client', C.sub, 'from.epoch', true, BAD.str(512));
rule('client', C.sub, 'from.offset', true, BAD.int(0));
rule('client', C.sub, 'last', false, BAD.int(0));
rule('client', C.unsub, 'topic', true, BAD.topic());
rule('client', C.publish, 'topic', true, BAD.topic());
rule('client', C.publish, 'data', true, []);
rule('client', C.publish, 'id', false, BAD.id());
rule('client', C.auth, 'token', true, BAD.str(8192));
// subscribed, unsubscribed, published, pub, goodbye (server)
rule('server', S.subscribed, 'topic', true, BAD.topic());
rule('server', S.subscribed, 'epoch', true, BAD.str(512));
rule('server', S.subscribed, 'offset', true, BAD.int(0));
rule('server', S.subscribed, 'recovered', true, BAD.bool());
rule('server', S.subscribed, 'replay', true, BAD.int(0));
rule('server', S.unsubscribed, 'topic', true, BAD.topic());
rule('server', S.unsubscribed, 'reason', false, BAD.anyString());
rule('server', S.published, 'topic', true, BAD.topic());
rule('server', S.published, 'id', false, BAD.id());
rule('server', S.published, 'epoch', true, BAD.str(512));
rule('server', S.published, 'offset', true, BAD.int(1));
rule('server', S.pub, 'topic', true, BAD.topic());
rule('server', S.pub, 'epoch', true, BAD.str(512));
rule('server', S.pub, 'offset', true, BAD.int(1));
rule('server', S.pub, 'data', true, []);
rule('server', S.pub, 'time', false, BAD.int(0));
rule('server', S.pubs, 'topic', true, BAD.topic());
rule('server', S.pubs, 'epoch', true, BAD.str(512));
rule('server', S.pubs, 'offset', true, BAD.int(1));
rule('server', S.pubs, 'data', true, [[], Array(1001).fill(0), 'x', 5, null, {}]);
rule('server', S.pubs, 'time', false, BAD.int(0));
rule('server', S.goodbye, 'code', true, BAD.int(1000));
rule('server', S.goodbye, 'reason', true, BAD.anyString());
rule('server', S.goodbye, 'retryAfter', false, BAD.int(0));
rule('server', S.refresh, 'exp', true, BAD.int(0));
rule('server', S.refresh, 'within', true, BAD.int(0));
rule('server', S.authed, 'exp', false, BAD.int(0));

function decodeAll(text: string, sender: Sender, options?: DecodeOptions): Decoded<Frame>[] {
  return sender === 'client'
    ? decodeMessage(text, 'client', options)
    : decodeMessage(text, 'server', options);
}

function expectBadField(
  result: Decoded<Frame> | undefined,
  frame: Record<string, unknown>,
  path: string,
  index?: number,
): void {
  expect(result?.ok).toBe(false);
  if (result === undefined || result.ok) return;
  const { error } = result;
  expect(error).toBeInstanceOf(ProtocolError);
  expect(error.code).toBe(ErrorCode.BAD_FIELD);
  expect(error.message.startsWith(`${frame.t as string}.${path}: expected `)).toBe(true);
  expect(error.ref?.t).toBe(frame.t);
  expect(error.ref?.index).toBe(index);
  // The ref carries the correlating fields, unless the bad field is one of them.
  if (path !== 'id' && frame.id !== undefined) expect(error.ref?.id).toBe(frame.id);
  if (path !== 'seq' && typeof frame.seq === 'number') expect(error.ref?.seq).toBe(frame.seq);
  if (path !== 'topic' && typeof frame.topic === 'string')
    expect(error.ref?.topic).toBe(frame.topic);
  // An invalid id is echoed only when it is small and of an id type, so the error frame stays bounded.
  if (path === 'id' && error.ref?.id !== undefined) expect(error.ref.id).toBe(frame.id);
  if (path === 'topic') expect(error.ref?.topic).toBeUndefined();
}

describe('field validation', () => {
  for (const r of rules) {
    const name = `${r.sender} ${r.frame.t}.${r.path}`;
    it(`${name}: every bad value is BAD_FIELD naming the field`, () => {
      const values = r.required ? [ABSENT, ...r.bad] : r.bad;
      for (const value of values) {
        const bad = withField(r.frame, r.path, value);
        const single = decodeAll(JSON.stringify(bad), r.sender);
        expect(single).toHaveLength(1);
        expectBadField(single[0], bad, r.path);
      }
    });

    it(`${name}: inside a batch, the ref names the index and the neighbours stay valid`, () => {
      const value = r.required ? ABSENT : r.bad[0];
      const bad = withField(r.frame, r.path, value);
      const good = JSON.stringify(r.frame);
      const results = decodeAll(`[${good},${good},${JSON.stringify(bad)},${good}]`, r.sender);
      expect(results.map((x) => x.ok)).toEqual([true, true, false, true]);
      expectBadField(results[2], bad, r.path, 2);
    });

    if (!r.required) {
      it(`${name}: may be left out`, () => {
        const without = withField(r.frame, r.path, ABSENT);
        const [result] = decodeAll(JSON.stringify(without), r.sender);
        expect(result?.ok).toBe(true);
      });
    }
  }

  it('validateFrame throws the same ProtocolError, with the index it was given', () => {
    const bad = withField(CLIENT_EXAMPLES.req, 'method', 7);
    expect(() => validateFrame(bad, 'client', 4)).toThrow(ProtocolError);
    try {
      validateFrame(bad, 'client', 4);
    } catch (err) {
      expect((err as ProtocolError).code).toBe('BAD_FIELD');
      expect((err as ProtocolError).ref).toEqual({ t: 'req', id: 1, seq: 2, index: 4 });
    }
  });

  it('res with ok:true ignores error, res with ok:false ignores data', () => {
    const okWithJunkError = { t: 'res', id: 1, ok: true, error: 'not checked' };
    const failedWithData = {
      t: 'res',
      id: 1,
      ok: false,
      data: 1,
      error: { code: 'X', message: 'm' },
    };
    expect(decodeAll(JSON.stringify(okWithJunkError), 'server')[0]?.ok).toBe(true);
    expect(decodeAll(JSON.stringify(failedWithData), 'server')[0]?.ok).toBe(true);
  });

  it('pubs: a last publication past the safe integers is BAD_FIELD naming the offset', () => {
    const frame = { ...S.pubs, offset: Number.MAX_SAFE_INTEGER, data: [1, 2] };
    const [result] = decodeMessage(JSON.stringify(frame), 'server');
    expect(result?.ok).toBe(false);
    if (result?.ok === false) {
      expect(result.error.code).toBe(ErrorCode.BAD_FIELD);
      expect(result.error.message).toMatch(/^pubs\.offset: /);
    }
  });

  it('hello accepts any version >= 1 (the server, not the codec, refuses versions it does not speak)', () => {
    expect(decodeAll('{"t":"hello","v":2}', 'client')[0]?.ok).toBe(true);
  });

  it('the ref leaves out correlating fields that are themselves invalid', () => {
    const frame = { t: 'req', id: 'x'.repeat(200), method: '', seq: 1.5, topic: 'a b' };
    const [result] = decodeAll(JSON.stringify(frame), 'client');
    expect(result?.ok).toBe(false);
    if (result && !result.ok) expect(result.error.ref).toEqual({ t: 'req' });
  });

  it('error.toFrame() carries code, message and ref, and is itself a valid server frame', () => {
    const [result] = decodeAll('{"t":"msg","seq":"1","data":1}', 'client');
    if (!result || result.ok) throw new Error('expected an error');
    const frame = result.error.toFrame();
    expect(frame).toEqual({
      t: 'error',
      code: 'BAD_FIELD',
      message: result.error.message,
      ref: { t: 'msg' },
    });
    expect(decodeAll(JSON.stringify(frame), 'server')[0]).toEqual({ ok: true, frame });
  });
});
