/**
 * An independent statement of the v1 field rules (the ones docs/protocol.md
 * lists), used as an oracle: the codec must accept exactly the frames this
 * says are valid. Written apart from codec.ts on purpose, so that a bug in
 * one is caught by the other.
 */
import type { ErrorCodeName, Sender } from '../src/index.js';

type Kind =
  | { k: 'int'; min: number }
  | { k: 'str'; max: number }
  | { k: 'string' }
  | { k: 'bool' }
  | { k: 'topic' }
  | { k: 'id' }
  | { k: 'json' }
  | { k: 'jsonList'; max: number }
  | { k: 'enum'; values: readonly string[] }
  | { k: 'object'; fields?: Schema };

/** Field name -> [kind, required]. */
type Schema = Record<string, [Kind, boolean]>;

const int = (min: number): Kind => ({ k: 'int', min });
const str = (max: number): Kind => ({ k: 'str', max });
const STRING: Kind = { k: 'string' };
const BOOL: Kind = { k: 'bool' };
const TOPIC: Kind = { k: 'topic' };
const ID: Kind = { k: 'id' };
const JSON_VALUE: Kind = { k: 'json' };
const object = (fields?: Schema): Kind => ({ k: 'object', fields });

const SHARED: Record<string, Schema> = {
  ping: { ts: [int(0), true] },
  pong: { ts: [int(0), true], rts: [int(0), true] },
  msg: { seq: [int(1), false], data: [JSON_VALUE, true] },
  ack: { seq: [int(0), true] },
  req: {
    id: [ID, true],
    method: [str(128), true],
    data: [JSON_VALUE, false],
    seq: [int(1), false],
  },
  // res: `data` applies when ok, `error` when not; see resSchema().
  res: { id: [ID, true], ok: [BOOL, true] },
  error: {
    code: [str(64), true],
    message: [STRING, true],
    ref: [object(), false],
    final: [BOOL, false],
    details: [object(), false],
  },
};

const CLIENT: Record<string, Schema> = {
  ...SHARED,
  hello: {
    v: [int(1), true],
    resume: [
      object({ sid: [str(512), true], token: [str(512), true], seq: [int(0), true] }),
      false,
    ],
    client: [object({ name: [str(128), false], version: [str(64), false] }), false],
    maxMessageBytes: [int(1024), false],
    pubs: [BOOL, false],
  },
  sub: {
    topic: [TOPIC, true],
    from: [object({ epoch: [str(512), true], offset: [int(0), true] }), false],
    last: [int(0), false],
  },
  unsub: { topic: [TOPIC, true] },
  publish: {
    topic: [TOPIC, true],
    data: [JSON_VALUE, true],
    id: [ID, false],
    seq: [int(1), false],
  },
  auth: { token: [str(8192), true] },
};

const SERVER: Record<string, Schema> = {
  ...SHARED,
  welcome: {
    v: [int(1), true],
    sid: [str(512), true],
    token: [str(512), true],
    cid: [str(512), true],
    resumed: [BOOL, true],
    reason: [{ k: 'enum', values: ['unknown', 'expired', 'gap', 'invalid'] }, false],
    ack: [int(0), true],
    hb: [object({ interval: [int(1), true], timeout: [int(1), true] }), true],
    limits: [
      object({
        maxMessageBytes: [int(1), true],
        rate: [int(1), true],
        burst: [int(1), true],
        maxBatch: [int(1), true],
      }),
      true,
    ],
    resumeWindow: [int(0), true],
    time: [int(0), true],
  },
  subscribed: {
    topic: [TOPIC, true],
    epoch: [str(512), true],
    offset: [int(0), true],
    recovered: [BOOL, true],
    replay: [int(0), true],
  },
  unsubscribed: { topic: [TOPIC, true], reason: [STRING, false] },
  published: {
    topic: [TOPIC, true],
    id: [ID, false],
    epoch: [str(512), true],
    offset: [int(1), true],
  },
  pub: {
    topic: [TOPIC, true],
    epoch: [str(512), true],
    offset: [int(1), true],
    data: [JSON_VALUE, true],
    time: [int(0), false],
  },
  pubs: {
    topic: [TOPIC, true],
    epoch: [str(512), true],
    offset: [int(1), true],
    data: [{ k: 'jsonList', max: 1000 }, true],
    time: [int(0), false],
  },
  goodbye: { code: [int(1000), true], reason: [STRING, true], retryAfter: [int(0), false] },
  refresh: { exp: [int(0), true], within: [int(0), true] },
  authed: { exp: [int(0), false] },
};

/** Every field of every frame type, per sender (for docs checks). */
export const SCHEMAS: Record<Sender, Record<string, Schema>> = { client: CLIENT, server: SERVER };

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function kindOk(kind: Kind, v: unknown): boolean {
  switch (kind.k) {
    case 'int':
      return (
        typeof v === 'number' &&
        Number.isInteger(v) &&
        Math.abs(v) <= Number.MAX_SAFE_INTEGER &&
        v >= kind.min
      );
    case 'str':
      return typeof v === 'string' && v.length >= 1 && v.length <= kind.max;
    case 'string':
      return typeof v === 'string';
    case 'bool':
      return typeof v === 'boolean';
    case 'topic':
      return (
        typeof v === 'string' &&
        v.length >= 1 &&
        v.length <= 256 &&
        /^[A-Za-z0-9_\-.:/@#=+]+$/.test(v)
      );
    case 'id':
      return kindOk(int(-Number.MAX_SAFE_INTEGER), v) || kindOk(str(128), v);
    case 'json':
      return v !== undefined;
    case 'jsonList':
      return Array.isArray(v) && v.length >= 1 && v.length <= kind.max;
    case 'enum':
      return typeof v === 'string' && kind.values.includes(v);
    case 'object':
      return isObj(v) && (kind.fields === undefined || schemaOk(kind.fields, v));
  }
}

function schemaOk(schema: Schema, o: Obj): boolean {
  return Object.entries(schema).every(([name, [kind, required]]) =>
    o[name] === undefined ? !required : kindOk(kind, o[name]),
  );
}

function resSchema(o: Obj): Schema {
  return o.ok === true
    ? { data: [JSON_VALUE, false] }
    : {
        error: [
          object({ code: [str(64), true], message: [STRING, true], details: [object(), false] }),
          true,
        ],
      };
}

/** What the codec must answer for one parsed item from `sender`: 'ok' or the error code. */
export function expectedOutcome(item: unknown, sender: Sender): 'ok' | ErrorCodeName {
  if (!isObj(item) || typeof item.t !== 'string') return 'BAD_FRAME';
  const schemas = SCHEMAS[sender];
  if (!Object.hasOwn(schemas, item.t)) return 'UNKNOWN_TYPE';
  const schema = schemas[item.t] as Schema;
  if (!schemaOk(schema, item)) return 'BAD_FIELD';
  if (item.t === 'res' && !schemaOk(resSchema(item), item)) return 'BAD_FIELD';
  // A `pubs` frame's last publication is at offset + data.length - 1: a safe integer too.
  if (
    item.t === 'pubs' &&
    (item.offset as number) > Number.MAX_SAFE_INTEGER - ((item.data as unknown[]).length - 1)
  )
    return 'BAD_FIELD';
  return 'ok';
}
