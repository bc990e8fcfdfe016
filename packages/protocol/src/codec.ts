import { ErrorCode } from './error-codes.js';
import type { ClientFrame, ErrorRef, Frame, Json, Position, ServerFrame } from './frames.js';
import { CLIENT_FRAME_TYPES, MIN_PEER_MESSAGE_BYTES, SERVER_FRAME_TYPES } from './frames.js';
import { TOPIC_PATTERN, WIRE_LIMITS } from './limits.js';
import { ProtocolError } from './protocol-error.js';

/** Who sent the message being decoded: it decides which frame types are accepted. */
export type Sender = 'client' | 'server';

export interface DecodeOptions {
  /** Most frames accepted in one batch (default and ceiling: `WIRE_LIMITS.maxBatch`). */
  maxBatch?: number;
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Context for field errors: the frame's type and correlating ids. */
function refOf(o: Obj, index: number | undefined): ErrorRef {
  const ref: ErrorRef = {};
  if (typeof o.t === 'string' && o.t.length <= 32) ref.t = o.t;
  if (
    (typeof o.id === 'number' && Number.isSafeInteger(o.id)) ||
    (typeof o.id === 'string' && o.id.length <= WIRE_LIMITS.maxIdLength)
  )
    ref.id = o.id;
  if (typeof o.seq === 'number' && Number.isSafeInteger(o.seq)) ref.seq = o.seq;
  if (typeof o.topic === 'string' && TOPIC_PATTERN.test(o.topic)) ref.topic = o.topic;
  if (index !== undefined) ref.index = index;
  return ref;
}

class FieldChecker {
  constructor(
    private readonly o: Obj,
    private readonly index: number | undefined,
  ) {}

  fail(field: string, expected: string): never {
    const t = typeof this.o.t === 'string' ? this.o.t : 'frame';
    throw new ProtocolError(
      ErrorCode.BAD_FIELD,
      `${t}.${field}: expected ${expected}`,
      refOf(this.o, this.index),
    );
  }

  int(
    field: string,
    min: number,
    optional = false,
    src: Obj = this.o,
    label = field,
  ): number | undefined {
    const v = src[field];
    if (v === undefined && optional) return undefined;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min)
      this.fail(label, `an integer >= ${min}`);
    return v;
  }

  str(
    field: string,
    maxLen: number,
    optional = false,
    src: Obj = this.o,
    label = field,
  ): string | undefined {
    const v = src[field];
    if (v === undefined && optional) return undefined;
    if (typeof v !== 'string' || v.length === 0 || v.length > maxLen)
      this.fail(label, `a non-empty string of at most ${maxLen} characters`);
    return v;
  }

  bool(field: string, optional = false): boolean | undefined {
    const v = this.o[field];
    if (v === undefined && optional) return undefined;
    if (typeof v !== 'boolean') this.fail(field, 'a boolean');
    return v;
  }

  topic(): string {
    const v = this.o.topic;
    if (typeof v !== 'string' || !TOPIC_PATTERN.test(v)) {
      this.fail('topic', '1-256 characters of letters, digits and _ - . : / @ # = +');
    }
    return v;
  }

  id(optional: boolean): number | string | undefined {
    const v = this.o.id;
    if (v === undefined && optional) return undefined;
    if (typeof v === 'number' && Number.isSafeInteger(v)) return v;
    if (typeof v === 'string' && v.length > 0 && v.length <= WIRE_LIMITS.maxIdLength) return v;
    return this.fail('id', `an integer or a string of 1-${WIRE_LIMITS.maxIdLength} characters`);
  }

  data(optional: boolean): Json | undefined {
    if (!('data' in this.o) || this.o.data === undefined) {
      if (optional) return undefined;
      this.fail('data', 'a JSON value (null allowed)');
    }
    return this.o.data as Json;
  }

  obj(field: string, optional: boolean): Obj | undefined {
    const v = this.o[field];
    if (v === undefined && optional) return undefined;
    if (!isObj(v)) this.fail(field, 'an object');
    return v;
  }

  position(field: string): Position | undefined {
    const p = this.obj(field, true);
    if (!p) return undefined;
    const epoch = this.str(
      'epoch',
      WIRE_LIMITS.maxTokenLength,
      false,
      p,
      `${field}.epoch`,
    ) as string;
    const offset = this.int('offset', 0, false, p, `${field}.offset`) as number;
    return { epoch, offset };
  }
}

/**
 * Validates one parsed value as a frame a `sender` may send. Returns the
 * frame (unknown fields are kept and ignored, for forward compatibility) or
 * throws a `ProtocolError`.
 */
export function validateFrame(value: unknown, sender: Sender, index?: number): Frame {
  if (!isObj(value)) {
    throw new ProtocolError(
      ErrorCode.BAD_FRAME,
      'a frame must be a JSON object',
      index === undefined ? undefined : { index },
    );
  }
  if (typeof value.t !== 'string') {
    throw new ProtocolError(
      ErrorCode.BAD_FRAME,
      'a frame needs a string field "t" (its type)',
      refOf(value, index),
    );
  }
  const allowed: readonly string[] = sender === 'client' ? CLIENT_FRAME_TYPES : SERVER_FRAME_TYPES;
  if (!allowed.includes(value.t)) {
    const shown = value.t.length > 32 ? `${value.t.slice(0, 32)}…` : value.t;
    throw new ProtocolError(
      ErrorCode.UNKNOWN_TYPE,
      `unknown frame type "${shown}" from a ${sender}`,
      refOf(value, index),
    );
  }
  const c = new FieldChecker(value, index);
  switch (value.t) {
    case 'hello': {
      c.int('v', 1);
      const resume = c.obj('resume', true);
      if (resume) {
        c.str('sid', WIRE_LIMITS.maxTokenLength, false, resume, 'resume.sid');
        c.str('token', WIRE_LIMITS.maxTokenLength, false, resume, 'resume.token');
        c.int('seq', 0, false, resume, 'resume.seq');
      }
      const client = c.obj('client', true);
      if (client) {
        c.str('name', 128, true, client, 'client.name');
        c.str('version', 64, true, client, 'client.version');
      }
      c.int('maxMessageBytes', MIN_PEER_MESSAGE_BYTES, true);
      c.bool('appPings', true);
      c.bool('pubs', true);
      break;
    }
    case 'welcome': {
      c.int('v', 1);
      c.str('sid', WIRE_LIMITS.maxTokenLength);
      c.str('token', WIRE_LIMITS.maxTokenLength);
      c.str('cid', WIRE_LIMITS.maxTokenLength);
      c.bool('resumed');
      if (
        value.reason !== undefined &&
        !['unknown', 'expired', 'gap', 'invalid'].includes(value.reason as string)
      ) {
        c.fail('reason', 'one of unknown, expired, gap, invalid');
      }
      c.int('ack', 0);
      const hb = c.obj('hb', false) as Obj;
      c.int('interval', 1, false, hb, 'hb.interval');
      c.int('timeout', 1, false, hb, 'hb.timeout');
      const limits = c.obj('limits', false) as Obj;
      for (const k of ['maxMessageBytes', 'rate', 'burst', 'maxBatch'])
        c.int(k, 1, false, limits, `limits.${k}`);
      c.int('resumeWindow', 0);
      c.int('time', 0);
      c.obj('data', true);
      break;
    }
    case 'ping':
      c.int('ts', 0);
      break;
    case 'pong':
      c.int('ts', 0);
      c.int('rts', 0);
      break;
    case 'msg':
      c.int('seq', 1, true);
      c.data(false);
      break;
    case 'ack':
      c.int('seq', 0);
      break;
    case 'req':
      c.id(false);
      c.str('method', WIRE_LIMITS.maxMethodLength);
      c.data(true);
      c.int('seq', 1, true);
      break;
    case 'res': {
      c.id(false);
      const ok = c.bool('ok');
      if (ok) c.data(true);
      else {
        const err = c.obj('error', false) as Obj;
        c.str('code', 64, false, err, 'error.code');
        if (typeof err.message !== 'string') c.fail('error.message', 'a string');
        if (err.details !== undefined && !isObj(err.details)) c.fail('error.details', 'an object');
      }
      break;
    }
    case 'sub': {
      c.topic();
      c.position('from');
      c.int('last', 0, true);
      break;
    }
    case 'subscribed':
      c.topic();
      c.str('epoch', WIRE_LIMITS.maxTokenLength);
      c.int('offset', 0);
      c.bool('recovered');
      c.int('replay', 0);
      break;
    case 'unsub':
      c.topic();
      break;
    case 'unsubscribed':
      c.topic();
      if (value.reason !== undefined && typeof value.reason !== 'string')
        c.fail('reason', 'a string');
      break;
    case 'publish':
      c.topic();
      c.data(false);
      c.id(true);
      c.int('seq', 1, true);
      break;
    case 'published':
      c.topic();
      c.id(true);
      c.str('epoch', WIRE_LIMITS.maxTokenLength);
      c.int('offset', 1);
      break;
    case 'pub':
      c.topic();
      c.str('epoch', WIRE_LIMITS.maxTokenLength);
      c.int('offset', 1);
      c.data(false);
      c.int('time', 0, true);
      break;
    case 'pubs': {
      c.topic();
      c.str('epoch', WIRE_LIMITS.maxTokenLength);
      const first = c.int('offset', 1) as number;
      const data = value.data;
      if (!Array.isArray(data) || data.length === 0 || data.length > WIRE_LIMITS.maxBatch) {
        return c.fail('data', `an array of 1-${WIRE_LIMITS.maxBatch} JSON values`);
      }
      if (first > Number.MAX_SAFE_INTEGER - (data.length - 1))
        c.fail('offset', 'an offset whose last publication is a safe integer');
      c.int('time', 0, true);
      break;
    }
    case 'error':
      c.str('code', 64);
      if (typeof value.message !== 'string') c.fail('message', 'a string');
      c.obj('ref', true);
      if (value.final !== undefined) c.bool('final');
      c.obj('details', true);
      break;
    case 'goodbye':
      c.int('code', 1000);
      if (typeof value.reason !== 'string') c.fail('reason', 'a string');
      c.int('retryAfter', 0, true);
      break;
    case 'refresh':
      c.int('exp', 0);
      c.int('within', 0);
      break;
    case 'auth':
      c.str('token', WIRE_LIMITS.maxAuthTokenLength);
      break;
    case 'authed':
      c.int('exp', 0, true);
      break;
  }
  return value as unknown as Frame;
}

/** One decoded item: a valid frame, or the error it earned. */
export type Decoded<F extends Frame> = { ok: true; frame: F } | { ok: false; error: ProtocolError };

/**
 * Decodes one WebSocket text message from `sender`. Throws a `ProtocolError`
 * when the whole message is unusable (BAD_JSON, BAD_BATCH); otherwise
 * returns one result per frame (a single result for a non-array message,
 * including BAD_FRAME for a JSON scalar or null), so that one bad frame in a
 * batch does not discard its valid neighbours.
 */
export function decodeMessage(
  text: string,
  sender: 'client',
  options?: DecodeOptions,
): Decoded<ClientFrame>[];
export function decodeMessage(
  text: string,
  sender: 'server',
  options?: DecodeOptions,
): Decoded<ServerFrame>[];
export function decodeMessage(
  text: string,
  sender: Sender,
  options: DecodeOptions = {},
): Decoded<Frame>[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new ProtocolError(
      ErrorCode.BAD_JSON,
      `not valid JSON: ${(err as Error).message.slice(0, 120)}`,
    );
  }
  if (!Array.isArray(parsed)) {
    try {
      return [{ ok: true, frame: validateFrame(parsed, sender) }];
    } catch (err) {
      return [{ ok: false, error: asProtocolError(err) }];
    }
  }
  const maxBatch = Math.min(options.maxBatch ?? WIRE_LIMITS.maxBatch, WIRE_LIMITS.maxBatch);
  if (parsed.length === 0 || parsed.length > maxBatch) {
    throw new ProtocolError(
      ErrorCode.BAD_BATCH,
      `a batch holds 1-${maxBatch} frames, got ${parsed.length}`,
    );
  }
  return parsed.map((item, index) => {
    try {
      return { ok: true as const, frame: validateFrame(item, sender, index) };
    } catch (err) {
      return { ok: false as const, error: asProtocolError(err) };
    }
  });
}

function asProtocolError(err: unknown): ProtocolError {
  if (err instanceof ProtocolError) return err;
  // Only reachable through a bug in the validators; surfaced as a typed error, never a raw throw.
  return new ProtocolError(ErrorCode.INTERNAL, `validator failed: ${String(err)}`);
}

/** Encodes one frame. */
export function encodeFrame(frame: Frame): string {
  return JSON.stringify(frame);
}

/**
 * Joins already-encoded frames into one message: a single frame stays as it
 * is, several become a JSON array. Frames are not re-encoded, so a topic
 * publication encoded once keeps the same bytes inside every batch.
 */
export function joinEncoded(encoded: readonly string[]): string {
  if (encoded.length === 1) return encoded[0] as string;
  return `[${encoded.join(',')}]`;
}

/** Whether `topic` is a valid topic name. */
export function isValidTopic(topic: string): boolean {
  return TOPIC_PATTERN.test(topic);
}
