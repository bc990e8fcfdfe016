/**
 * fast-check generators of valid frames, and of mutations that break them,
 * for the codec's property tests.
 */
import fc from 'fast-check';
import { type Frame, type Sender, WIRE_LIMITS } from '../src/index.js';
import { copyOf, examplesOf } from './fixtures.js';

const TOPIC_CHARS = [...'ABCXYZabcxyz0189_-.:/@#=+'];

/** Safe integers >= min, biased towards small values and the edges. */
export function intFrom(min: number): fc.Arbitrary<number> {
  return fc.oneof(
    fc.integer({ min, max: min + 1000 }),
    fc.constant(Number.MAX_SAFE_INTEGER),
    fc.maxSafeNat().filter((n) => n >= min),
  );
}

/** Non-empty strings of at most `max` UTF-16 code units. */
export function stringUpTo(max: number): fc.Arbitrary<string> {
  return fc.oneof(
    fc.string({ unit: 'binary', minLength: 1, maxLength: Math.min(40, Math.floor(max / 2)) }),
    fc.string({ minLength: 1, maxLength: 20 }),
    fc.constant('x'.repeat(max)),
  );
}

export const topic = fc.oneof(
  fc.string({ unit: fc.constantFrom(...TOPIC_CHARS), minLength: 1, maxLength: 40 }),
  fc.constant('t'.repeat(WIRE_LIMITS.maxTopicLength)),
);
export const id = fc.oneof(fc.maxSafeInteger(), stringUpTo(WIRE_LIMITS.maxIdLength));
export const json = fc.jsonValue({ maxDepth: 3 });
const token = stringUpTo(WIRE_LIMITS.maxTokenLength);

const position = fc.record({ epoch: token, offset: intFrom(0) });
const errorBody = fc.record({ code: stringUpTo(64), message: fc.string() });
const ref = fc.record(
  { t: fc.string(), id, seq: intFrom(0), topic, index: intFrom(0) },
  { requiredKeys: [] },
);

const shared = [
  fc.record({ t: fc.constant('ping'), ts: intFrom(0) }),
  fc.record({ t: fc.constant('pong'), ts: intFrom(0), rts: intFrom(0) }),
  fc.record(
    { t: fc.constant('msg'), seq: intFrom(1), data: json },
    { requiredKeys: ['t', 'data'] },
  ),
  fc.record({ t: fc.constant('ack'), seq: intFrom(0) }),
  fc.record(
    {
      t: fc.constant('req'),
      id,
      method: stringUpTo(WIRE_LIMITS.maxMethodLength),
      data: json,
      seq: intFrom(1),
    },
    { requiredKeys: ['t', 'id', 'method'] },
  ),
  fc.record(
    { t: fc.constant('res'), id, ok: fc.constant(true), data: json },
    { requiredKeys: ['t', 'id', 'ok'] },
  ),
  fc.record({ t: fc.constant('res'), id, ok: fc.constant(false), error: errorBody }),
  fc.record(
    {
      t: fc.constant('error'),
      code: stringUpTo(64),
      message: fc.string(),
      ref,
      final: fc.boolean(),
      details: fc.record({ status: intFrom(0) }),
    },
    { requiredKeys: ['t', 'code', 'message'] },
  ),
];

const clientOnly = [
  fc.record(
    {
      t: fc.constant('hello'),
      v: intFrom(1),
      resume: fc.record({ sid: token, token, seq: intFrom(0) }),
      client: fc.record({ name: stringUpTo(128), version: stringUpTo(64) }, { requiredKeys: [] }),
    },
    { requiredKeys: ['t', 'v'] },
  ),
  fc.record(
    { t: fc.constant('sub'), topic, from: position, last: intFrom(0) },
    { requiredKeys: ['t', 'topic'] },
  ),
  fc.record({ t: fc.constant('unsub'), topic }),
  fc.record(
    { t: fc.constant('publish'), topic, data: json, id, seq: intFrom(1) },
    { requiredKeys: ['t', 'topic', 'data'] },
  ),
  fc.record({ t: fc.constant('auth'), token: stringUpTo(WIRE_LIMITS.maxAuthTokenLength) }),
];

const serverOnly = [
  fc.record(
    {
      t: fc.constant('welcome'),
      v: intFrom(1),
      sid: token,
      token,
      cid: token,
      resumed: fc.boolean(),
      reason: fc.constantFrom('unknown', 'expired', 'gap', 'invalid'),
      ack: intFrom(0),
      hb: fc.record({ interval: intFrom(1), timeout: intFrom(1) }),
      limits: fc.record({
        maxMessageBytes: intFrom(1),
        rate: intFrom(1),
        burst: intFrom(1),
        maxBatch: intFrom(1),
      }),
      resumeWindow: intFrom(0),
      time: intFrom(0),
    },
    {
      requiredKeys: [
        't',
        'v',
        'sid',
        'token',
        'cid',
        'resumed',
        'ack',
        'hb',
        'limits',
        'resumeWindow',
        'time',
      ],
    },
  ),
  fc.record({
    t: fc.constant('subscribed'),
    topic,
    epoch: token,
    offset: intFrom(0),
    recovered: fc.boolean(),
    replay: intFrom(0),
  }),
  fc.record(
    { t: fc.constant('unsubscribed'), topic, reason: fc.string() },
    { requiredKeys: ['t', 'topic'] },
  ),
  fc.record(
    { t: fc.constant('published'), topic, id, epoch: token, offset: intFrom(1) },
    { requiredKeys: ['t', 'topic', 'epoch', 'offset'] },
  ),
  fc.record(
    {
      t: fc.constant('pub'),
      topic,
      epoch: token,
      offset: intFrom(1),
      data: json,
      time: intFrom(0),
    },
    { requiredKeys: ['t', 'topic', 'epoch', 'offset', 'data'] },
  ),
  fc
    .record(
      {
        t: fc.constant('pubs'),
        topic,
        epoch: token,
        offset: intFrom(1),
        data: fc.array(json, { minLength: 1, maxLength: 5 }),
        time: intFrom(0),
      },
      { requiredKeys: ['t', 'topic', 'epoch', 'offset', 'data'] },
    )
    .filter((f) => f.offset <= Number.MAX_SAFE_INTEGER - (f.data.length - 1)),
  fc.record(
    { t: fc.constant('goodbye'), code: intFrom(1000), reason: fc.string(), retryAfter: intFrom(0) },
    { requiredKeys: ['t', 'code', 'reason'] },
  ),
  fc.record({ t: fc.constant('refresh'), exp: intFrom(0), within: intFrom(0) }),
  fc.record({ t: fc.constant('authed'), exp: intFrom(0) }, { requiredKeys: ['t'] }),
];

/** Any valid frame that `sender` may send. */
export function validFrame(sender: Sender): fc.Arbitrary<Frame> {
  const arbs = sender === 'client' ? [...shared, ...clientOnly] : [...shared, ...serverOnly];
  return fc.oneof(...arbs) as fc.Arbitrary<Frame>;
}

/** A valid frame of `sender`: one of the hand-written examples or a generated one. */
export function someFrame(sender: Sender): fc.Arbitrary<Frame> {
  return fc.oneof(fc.constantFrom(...examplesOf(sender).map(([, f]) => f)), validFrame(sender));
}

/** Every path to a value inside a JSON object, e.g. ["t"], ["resume"], ["resume","sid"]. */
function pathsOf(value: unknown, prefix: string[] = []): string[][] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [];
  const out: string[][] = [];
  for (const [key, inner] of Object.entries(value)) {
    out.push([...prefix, key]);
    out.push(...pathsOf(inner, [...prefix, key]));
  }
  return out;
}

function setAt(root: Record<string, unknown>, path: string[], value: unknown): void {
  let target = root;
  for (const key of path.slice(0, -1)) target = target[key] as Record<string, unknown>;
  const last = path[path.length - 1] as string;
  if (value === undefined) delete target[last];
  else target[last] = value;
}

/** Values of every JSON type, plus the edge numbers the validators look at. */
const anyValue = fc.oneof(
  {
    arbitrary: fc.constantFrom(null, true, false, 0, 1, -1, 1.5, '', 'x', [], {}, [1], { a: 1 }),
    weight: 4,
  },
  {
    arbitrary: fc.constantFrom(
      2 ** 53,
      -(2 ** 53),
      1e308,
      999,
      1000,
      'x'.repeat(129),
      'x'.repeat(600),
    ),
    weight: 2,
  },
  {
    arbitrary: fc.constantFrom('ping', 'hello', 'welcome', 'msg', 'pub', 'error', 'unknown', 'gap'),
    weight: 1,
  },
  { arbitrary: json, weight: 2 },
);

const ALL_TYPES = [
  'hello',
  'welcome',
  'ping',
  'pong',
  'msg',
  'ack',
  'req',
  'res',
  'sub',
  'subscribed',
  'unsub',
  'unsubscribed',
  'publish',
  'published',
  'pub',
  'pubs',
  'error',
  'goodbye',
  'refresh',
  'auth',
  'authed',
];

/**
 * A mutated valid frame, as message text: a field dropped, a field's value
 * replaced by a value of any type, junk fields added, the type swapped for
 * another's, the frame wrapped in arrays or put in a batch, the text cut.
 */
export function mutatedMessage(sender: Sender): fc.Arbitrary<string> {
  const frame = someFrame(sender).map((f) => copyOf(f));
  const dropped = fc.tuple(frame, fc.nat()).map(([f, n]) => {
    const paths = pathsOf(f);
    setAt(f, paths[n % paths.length] as string[], undefined);
    return JSON.stringify(f);
  });
  const retyped = fc.tuple(frame, fc.nat(), anyValue).map(([f, n, v]) => {
    const paths = pathsOf(f);
    setAt(f, paths[n % paths.length] as string[], v);
    return JSON.stringify(f);
  });
  const junk = fc
    .tuple(
      frame,
      fc.dictionary(
        fc.string().map((k) => `x_${k}`),
        anyValue,
        { maxKeys: 4 },
      ),
    )
    .map(([f, extra]) => JSON.stringify({ ...f, ...extra }));
  const swapped = fc
    .tuple(frame, fc.constantFrom(...ALL_TYPES))
    .map(([f, t]) => JSON.stringify({ ...f, t }));
  const wrapped = fc.tuple(frame, fc.integer({ min: 1, max: 3 })).map(([f, depth]) => {
    let text = JSON.stringify(f);
    for (let i = 0; i < depth; i++) text = `[${text}]`;
    return text;
  });
  const batch = fc
    .array(
      fc.oneof(
        frame.map((f) => JSON.stringify(f)),
        anyValue.map((v) => JSON.stringify(v)),
      ),
      { minLength: 0, maxLength: 6 },
    )
    .map((items) => `[${items.join(',')}]`);
  const single = fc.oneof(dropped, retyped, junk, swapped, wrapped, batch);
  const truncated = fc
    .tuple(single, fc.nat())
    .map(([text, n]) => text.slice(0, n % (text.length + 1)));
  return fc.oneof(single, truncated);
}
