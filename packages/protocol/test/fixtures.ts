/**
 * Valid examples of every frame type, as each side may send them: a full
 * example (every optional field present) and a minimal one (required fields
 * only). Tests mutate copies of these; never mutate them in place.
 */
import type { ClientFrame, Frame, Sender, ServerFrame } from '../src/index.js';

export const NOW = 1_700_000_000_000;

/** Frames both sides may send. */
const SHARED = {
  ping: { t: 'ping', ts: NOW },
  pong: { t: 'pong', ts: NOW, rts: NOW + 12 },
  msg: { t: 'msg', seq: 1, data: { text: 'hi', n: [1, 2.5, null, true] } },
  'msg-min': { t: 'msg', data: null },
  ack: { t: 'ack', seq: 0 },
  req: { t: 'req', id: 1, method: 'echo', data: { a: 1 }, seq: 2 },
  'req-min': { t: 'req', id: 'r-1', method: 'time' },
  res: { t: 'res', id: 1, ok: true, data: [1, 2] },
  'res-min': { t: 'res', id: 'r-1', ok: true },
  'res-error': {
    t: 'res',
    id: 7,
    ok: false,
    error: { code: 'NO_HANDLER', message: 'no handler for "x"' },
  },
  error: { t: 'error', code: 'HANDLER_ERROR', message: 'boom', ref: { t: 'req', id: 1 } },
  'error-final': {
    t: 'error',
    code: 'NO_HANDLER',
    message: 'this endpoint has no message handler',
    ref: { t: 'msg', seq: 7 },
    final: true,
    details: { status: 404 },
  },
  'error-min': { t: 'error', code: 'X', message: '' },
} as const satisfies Record<string, ClientFrame & ServerFrame>;

export const CLIENT_EXAMPLES = {
  hello: {
    t: 'hello',
    v: 1,
    resume: { sid: 's_4f2a', token: 'rt_9d1c', seq: 42 },
    client: { name: 'tether-js', version: '0.1.0' },
    pubs: true,
  },
  'hello-min': { t: 'hello', v: 1 },
  ...SHARED,
  sub: { t: 'sub', topic: 'prices/eur', from: { epoch: 'e_7b', offset: 10 }, last: 5 },
  'sub-min': { t: 'sub', topic: 'chat:room-1' },
  unsub: { t: 'unsub', topic: 'chat:room-1' },
  publish: { t: 'publish', topic: 'chat:room-1', data: { text: 'hi' }, id: 3 },
  'publish-reliable': {
    t: 'publish',
    topic: 'sensors/dev-7',
    data: { t: 21.5 },
    id: 4,
    seq: 12,
  },
  'publish-min': { t: 'publish', topic: 'chat:room-1', data: 0 },
  auth: { t: 'auth', token: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.sig' },
} as const satisfies Record<string, ClientFrame>;

export const SERVER_EXAMPLES = {
  welcome: {
    t: 'welcome',
    v: 1,
    sid: 's_4f2a',
    token: 'rt_a01f',
    cid: 'c_12',
    resumed: false,
    reason: 'expired',
    ack: 0,
    hb: { interval: 25_000, timeout: 10_000 },
    limits: { maxMessageBytes: 65_536, rate: 100, burst: 200, maxBatch: 1000 },
    resumeWindow: 120_000,
    time: NOW,
  },
  'welcome-min': {
    t: 'welcome',
    v: 1,
    sid: 's_4f2a',
    token: 'rt_a01f',
    cid: 'c_12',
    resumed: true,
    ack: 17,
    hb: { interval: 25_000, timeout: 10_000 },
    limits: { maxMessageBytes: 65_536, rate: 100, burst: 200, maxBatch: 1000 },
    resumeWindow: 0,
    time: 0,
  },
  ...SHARED,
  subscribed: {
    t: 'subscribed',
    topic: 'prices/eur',
    epoch: 'e_7b',
    offset: 12,
    recovered: true,
    replay: 2,
  },
  unsubscribed: { t: 'unsubscribed', topic: 'prices/eur', reason: 'forbidden' },
  'unsubscribed-min': { t: 'unsubscribed', topic: 'prices/eur' },
  published: { t: 'published', topic: 'chat:room-1', id: 3, epoch: 'e_7b', offset: 13 },
  'published-min': { t: 'published', topic: 'chat:room-1', epoch: 'e_7b', offset: 1 },
  pub: {
    t: 'pub',
    topic: 'chat:room-1',
    epoch: 'e_7b',
    offset: 13,
    data: { text: 'hi' },
    time: NOW,
  },
  'pub-min': { t: 'pub', topic: 'chat:room-1', epoch: 'e_7b', offset: 1, data: 'x' },
  pubs: {
    t: 'pubs',
    topic: 'chat:room-1',
    epoch: 'e_7b',
    offset: 14,
    data: [{ text: 'hi' }, { text: 'again' }],
    time: NOW,
  },
  'pubs-min': { t: 'pubs', topic: 'chat:room-1', epoch: 'e_7b', offset: 1, data: [null] },
  goodbye: { t: 'goodbye', code: 1012, reason: 'server restart', retryAfter: 2500 },
  'goodbye-min': { t: 'goodbye', code: 4001, reason: '' },
  refresh: { t: 'refresh', exp: NOW + 30_000, within: 30_000 },
  authed: { t: 'authed', exp: NOW + 3_600_000 },
  'authed-min': { t: 'authed' },
} as const satisfies Record<string, ServerFrame>;

export type ClientExample = keyof typeof CLIENT_EXAMPLES;
export type ServerExample = keyof typeof SERVER_EXAMPLES;

/** The examples a sender may send, as [name, frame] pairs. */
export function examplesOf(sender: Sender): [string, Frame][] {
  const table: Record<string, Frame> = sender === 'client' ? CLIENT_EXAMPLES : SERVER_EXAMPLES;
  return Object.entries(table);
}

/** A deep, mutable copy of a frame as a plain JSON object. */
export function copyOf(frame: Frame): Record<string, unknown> {
  return JSON.parse(JSON.stringify(frame)) as Record<string, unknown>;
}

/** Marker for "remove this field". */
export const ABSENT = Symbol('absent');

/**
 * A copy of `frame` with the field at `path` ("resume.sid") set to `value`
 * (or removed, for ABSENT). Intermediate objects must exist.
 */
export function withField(frame: Frame, path: string, value: unknown): Record<string, unknown> {
  const out = copyOf(frame);
  const keys = path.split('.');
  let target: Record<string, unknown> = out;
  for (const key of keys.slice(0, -1)) target = target[key] as Record<string, unknown>;
  const last = keys[keys.length - 1] as string;
  if (value === ABSENT) delete target[last];
  else target[last] = value;
  return out;
}
