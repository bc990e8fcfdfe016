/**
 * Bad input at any point of a connection: a RAW `ws` client (no Tether code; it writes
 * the JSON itself, following docs/protocol.md) sends each malformed input and gets the
 * documented error code, while the connection stays open and a second client keeps
 * exchanging request/reply successfully the whole time.
 */
import { describe, expect, it } from 'vitest';
import { type AnyFrame, RawClient, serverPerTest } from './helpers.js';

interface BadInput {
  name: string;
  send: string | Buffer;
  binary?: boolean;
  /** The error code expected, or null when the frame is ignored without an answer. */
  expect: string | null;
}

const longTopic = 't'.repeat(257);
const tooManyPings = JSON.stringify(Array.from({ length: 1001 }, () => ({ t: 'ping', ts: 1 })));

/** After hello. Exported in spirit for the closing note: every row is one tried input. */
const AFTER_HELLO: BadInput[] = [
  { name: 'invalid JSON', send: '{"t":"ping",', expect: 'BAD_JSON' },
  { name: 'not JSON at all', send: 'hello server', expect: 'BAD_JSON' },
  { name: 'empty text message', send: '', expect: 'BAD_JSON' },
  { name: 'JSON number', send: '42', expect: 'BAD_FRAME' },
  { name: 'JSON string', send: '"ping"', expect: 'BAD_FRAME' },
  { name: 'JSON null', send: 'null', expect: 'BAD_FRAME' },
  { name: 'JSON true', send: 'true', expect: 'BAD_FRAME' },
  { name: 'empty array (empty batch)', send: '[]', expect: 'BAD_BATCH' },
  { name: 'batch of 1001 frames (over maxBatch)', send: tooManyPings, expect: 'BAD_BATCH' },
  { name: 'batch item that is not an object', send: '[1]', expect: 'BAD_FRAME' },
  { name: 'nested array as a batch item', send: '[[{"t":"ping","ts":1}]]', expect: 'BAD_FRAME' },
  { name: 'object without t', send: '{}', expect: 'BAD_FRAME' },
  { name: 't is a number', send: '{"t":5}', expect: 'BAD_FRAME' },
  { name: 'unknown type', send: '{"t":"nope"}', expect: 'UNKNOWN_TYPE' },
  {
    name: 'server-only type (welcome) from a client',
    send: '{"t":"welcome"}',
    expect: 'UNKNOWN_TYPE',
  },
  {
    name: 'server-only type (pub) from a client',
    send: '{"t":"pub","topic":"a"}',
    expect: 'UNKNOWN_TYPE',
  },
  { name: 'hello twice', send: '{"t":"hello","v":1}', expect: 'DUPLICATE_HELLO' },
  { name: 'msg without data', send: '{"t":"msg"}', expect: 'BAD_FIELD' },
  { name: 'msg with seq as a string', send: '{"t":"msg","seq":"1","data":1}', expect: 'BAD_FIELD' },
  { name: 'msg with seq 0', send: '{"t":"msg","seq":0,"data":1}', expect: 'BAD_FIELD' },
  { name: 'msg with negative seq', send: '{"t":"msg","seq":-3,"data":1}', expect: 'BAD_FIELD' },
  { name: 'msg with fractional seq', send: '{"t":"msg","seq":1.5,"data":1}', expect: 'BAD_FIELD' },
  {
    name: 'msg with seq beyond 2^53',
    send: '{"t":"msg","seq":9007199254740993,"data":1}',
    expect: 'BAD_FIELD',
  },
  { name: 'ack with a string seq', send: '{"t":"ack","seq":"x"}', expect: 'BAD_FIELD' },
  { name: 'ack beyond anything sent', send: '{"t":"ack","seq":5}', expect: 'BAD_ACK' },
  { name: 'ping without ts', send: '{"t":"ping"}', expect: 'BAD_FIELD' },
  { name: 'ping with negative ts', send: '{"t":"ping","ts":-1}', expect: 'BAD_FIELD' },
  { name: 'pong without rts', send: '{"t":"pong","ts":1}', expect: 'BAD_FIELD' },
  { name: 'req without id', send: '{"t":"req","method":"echo"}', expect: 'BAD_FIELD' },
  {
    name: 'req with an object id',
    send: '{"t":"req","id":{},"method":"echo"}',
    expect: 'BAD_FIELD',
  },
  { name: 'req without method', send: '{"t":"req","id":1}', expect: 'BAD_FIELD' },
  { name: 'req with an empty method', send: '{"t":"req","id":1,"method":""}', expect: 'BAD_FIELD' },
  {
    name: 'req with a 200-char method',
    send: JSON.stringify({ t: 'req', id: 1, method: 'm'.repeat(200) }),
    expect: 'BAD_FIELD',
  },
  {
    name: 'req with an unknown method',
    send: '{"t":"req","id":"u1","method":"nope"}',
    expect: null,
  },
  {
    name: 'sub with spaces in the topic',
    send: '{"t":"sub","topic":"bad topic!"}',
    expect: 'BAD_FIELD',
  },
  { name: 'sub with an empty topic', send: '{"t":"sub","topic":""}', expect: 'BAD_FIELD' },
  {
    name: 'sub with a 257-char topic',
    send: JSON.stringify({ t: 'sub', topic: longTopic }),
    expect: 'BAD_FIELD',
  },
  { name: 'sub with a numeric topic', send: '{"t":"sub","topic":7}', expect: 'BAD_FIELD' },
  {
    name: 'sub with from missing offset',
    send: '{"t":"sub","topic":"ok","from":{"epoch":"e"}}',
    expect: 'BAD_FIELD',
  },
  {
    name: 'sub with a negative last',
    send: '{"t":"sub","topic":"ok","last":-1}',
    expect: 'BAD_FIELD',
  },
  {
    name: 'unsub from a topic never subscribed',
    send: '{"t":"unsub","topic":"never"}',
    expect: 'NOT_SUBSCRIBED',
  },
  { name: 'publish without data', send: '{"t":"publish","topic":"x"}', expect: 'BAD_FIELD' },
  {
    name: 'publish without authorizePublish',
    send: '{"t":"publish","topic":"x","data":1}',
    expect: 'FORBIDDEN',
  },
  { name: 'res for no pending request', send: '{"t":"res","id":99,"ok":true}', expect: null },
  {
    name: 'res with ok not a boolean',
    send: '{"t":"res","id":99,"ok":"yes"}',
    expect: 'BAD_FIELD',
  },
  {
    name: 'error frame from the client',
    send: '{"t":"error","code":"X","message":"m"}',
    expect: null,
  },
  {
    name: 'binary message',
    send: Buffer.from([1, 2, 3]),
    binary: true,
    expect: 'BINARY_UNSUPPORTED',
  },
  {
    name: 'deeply nested JSON',
    send: `${'['.repeat(5000)}${']'.repeat(5000)}`,
    expect: 'BAD_FRAME',
  },
  {
    name: '__proto__ in message data (no prototype pollution)',
    send: '{"t":"msg","data":{"__proto__":{"polluted":true}}}',
    expect: null,
  },
];

const server = serverPerTest();

/** Sends one input, then a ping barrier; returns the error frames that came before the pong. */
async function tryInput(c: RawClient, input: BadInput, barrier: number): Promise<AnyFrame[]> {
  const from = c.frames.length;
  c.sendRaw(input.send, input.binary ?? false);
  c.sendJson({ t: 'ping', ts: barrier });
  await c.next((f) => f.t === 'pong' && f.ts === barrier);
  return c.frames.slice(from).filter((f) => f.t === 'error');
}

describe('malformed input', () => {
  it('answers every bad input with its error code, keeps the connection open, and other clients unaffected', async () => {
    const started = await server.start();
    const { endpoint, url } = started;
    const seen: unknown[] = [];
    endpoint.onMessage((data) => {
      seen.push(data);
    });
    endpoint.handle('echo', (data) => data ?? null);

    // A well-behaved neighbour doing request/reply the whole time.
    const neighbour = await RawClient.connect(url);
    server.keep(neighbour);
    let stop = false;
    let exchanged = 0;
    const neighbourLoop = (async () => {
      while (!stop && exchanged < 2000) {
        const id = exchanged + 1;
        const res = await neighbour.request('echo', { n: id }, id);
        expect(res).toEqual({ t: 'res', id, ok: true, data: { n: id } });
        exchanged += 1;
      }
    })();

    const bad = await RawClient.connect(url);
    server.keep(bad);
    const results: Array<{ name: string; got: string[] }> = [];
    let barrier = 1;
    for (const input of AFTER_HELLO) {
      const errors = await tryInput(bad, input, barrier++);
      results.push({ name: input.name, got: errors.map((e) => e.code as string) });
      expect(
        errors.map((e) => e.code),
        input.name,
      ).toEqual(input.expect === null ? [] : [input.expect]);
      expect(bad.ws.readyState, `${input.name}: still open`).toBe(bad.ws.OPEN);
    }
    // The unknown method got a res error rather than an error frame.
    expect(bad.frames.find((f) => f.t === 'res' && f.id === 'u1')).toMatchObject({
      ok: false,
      error: { code: 'NO_HANDLER' },
    });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(seen).toHaveLength(1);

    // A batch with one bad frame among good ones: the good ones are still served.
    bad.sendJson([
      { t: 'ping', ts: 777 },
      { t: 'nope' },
      { t: 'req', id: 'ok', method: 'echo', data: 1 },
    ]);
    await bad.next((f) => f.t === 'pong' && f.ts === 777);
    expect(await bad.next((f) => f.t === 'error')).toMatchObject({
      code: 'UNKNOWN_TYPE',
      ref: { index: 1 },
    });
    expect(await bad.next((f) => f.t === 'res' && f.id === 'ok')).toMatchObject({
      ok: true,
      data: 1,
    });

    stop = true;
    await neighbourLoop;
    expect(exchanged).toBeGreaterThan(0);
    expect(neighbour.frames.filter((f) => f.t === 'error')).toEqual([]);
    expect(endpoint.stats().errors).toBe(AFTER_HELLO.filter((i) => i.expect !== null).length + 1);
  });

  it('answers frames before hello with HELLO_REQUIRED (and bad JSON with BAD_JSON), then accepts hello', async () => {
    const started = await server.start();
    const c = await RawClient.open(started.url);
    server.keep(c);
    c.sendJson({ t: 'ping', ts: 1 });
    expect(await c.next((f) => f.t === 'error')).toMatchObject({
      code: 'HELLO_REQUIRED',
      ref: { t: 'ping' },
    });
    c.sendJson({ t: 'msg', data: 1 });
    expect(await c.next((f) => f.t === 'error')).toMatchObject({
      code: 'HELLO_REQUIRED',
      ref: { t: 'msg' },
    });
    c.sendRaw('{oops');
    expect(await c.next((f) => f.t === 'error')).toMatchObject({ code: 'BAD_JSON' });
    c.sendRaw(Buffer.from([0]), true);
    expect(await c.next((f) => f.t === 'error')).toMatchObject({ code: 'BINARY_UNSUPPORTED' });
    c.sendJson({ t: 'hello', v: '1' });
    expect(await c.next((f) => f.t === 'error')).toMatchObject({
      code: 'BAD_FIELD',
      ref: { t: 'hello' },
    });
    c.sendJson({ t: 'hello', v: 1, resume: { sid: 's', seq: 0 } });
    expect(await c.next((f) => f.t === 'error')).toMatchObject({ code: 'BAD_FIELD' });
    c.sendJson({ t: 'hello', v: 1 });
    await c.next((f) => f.t === 'welcome');
  });

  it('answers a hello with an unsupported version with UNSUPPORTED_VERSION and closes 4011', async () => {
    const started = await server.start();
    const c = await RawClient.open(started.url);
    server.keep(c);
    c.sendJson({ t: 'hello', v: 2 });
    expect(await c.next((f) => f.t === 'error')).toMatchObject({ code: 'UNSUPPORTED_VERSION' });
    expect(await c.next((f) => f.t === 'goodbye')).toMatchObject({ code: 4011 });
    expect((await c.waitClosed()).code).toBe(4011);
  });
});
