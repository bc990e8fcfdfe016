/**
 * Early hello: the client's `hello` carried in the upgrade (`tether.v1.early` and
 * `tether.hello.<base64url>`), answered with `welcome` right after it, one round trip
 * sooner; the same rules as a `hello` frame, and plain `tether.v1` otherwise.
 */
import type { Socket } from 'node:net';
import {
  authSubprotocol,
  EARLY_SUBPROTOCOL,
  HELLO_SUBPROTOCOL_PREFIX,
  type HelloFrame,
  helloSubprotocol,
  SUBPROTOCOL,
} from '@tether/protocol';
import { describe, expect, it } from 'vitest';
import { EarlyHellos } from '../src/handshake.js';
import { MemoryStore, type NewSession } from '../src/index.js';
import { RawClient, rawUpgrade, type Started, serverPerTest } from './helpers.js';

const server = serverPerTest();

const HELLO: HelloFrame = { t: 'hello', v: 1, appPings: false };

type Chunk = { chunk: Buffer | string };
type Hidden = {
  _write(chunk: Buffer | string, encoding: string, cb: () => void): void;
  _writev(chunks: Chunk[], cb: () => void): void;
};

/**
 * What the server hands its TCP sockets to send, one string per write that reaches the
 * socket's handle (several chunks of one corked write joined): the writes the kernel sees.
 */
function recordWrites(started: Started): string[][] {
  const writes: string[][] = [];
  started.tether.httpServer.on('connection', (socket: Socket) => {
    const hidden = socket as unknown as Hidden;
    const write = hidden._write.bind(socket);
    const writev = hidden._writev.bind(socket);
    const mine: string[] = [];
    writes.push(mine);
    hidden._write = (chunk, encoding, cb) => {
      mine.push(String(chunk));
      write(chunk, encoding, cb);
    };
    hidden._writev = (chunks, cb) => {
      mine.push(chunks.map((c) => String(c.chunk)).join(''));
      writev(chunks, cb);
    };
  });
  return writes;
}

/** Opens a socket offering `hello` in the upgrade (and `extra` subprotocols). */
async function early(url: string, hello: HelloFrame = HELLO, extra: string[] = []) {
  return server.keep(
    await RawClient.open(url, {
      protocols: [SUBPROTOCOL, EARLY_SUBPROTOCOL, helloSubprotocol(hello), ...extra],
    }),
  );
}

describe('early hello', () => {
  it('is answered with welcome without a hello frame; the connection then works', async () => {
    const { endpoint, url } = await server.start();
    endpoint.handle('echo', (data) => data ?? null);
    const client = await early(url);
    expect(client.ws.protocol).toBe(EARLY_SUBPROTOCOL);
    const welcome = await client.next((f) => f.t === 'welcome');
    expect(welcome).toMatchObject({ v: 1, resumed: false });
    expect(await client.request('echo', 'hi', 1)).toMatchObject({ ok: true, data: 'hi' });
  });

  it('resumes a session like a hello frame does', async () => {
    const { url } = await server.start();
    const first = await early(url);
    const welcome = await first.next((f) => f.t === 'welcome');
    first.close();
    await first.waitClosed();
    const resume = { sid: welcome.sid as string, token: welcome.token as string, seq: 0 };
    const second = await early(url, { ...HELLO, resume });
    expect(await second.next((f) => f.t === 'welcome')).toMatchObject({
      sid: welcome.sid,
      resumed: true,
    });
  });

  it('gets what a hello frame gets when it is wrong: an unsupported version, the same error and close', async () => {
    const { url } = await server.start();
    const client = await early(url, { ...HELLO, v: 99 });
    expect(await client.next((f) => f.t === 'error')).toMatchObject({
      code: 'UNSUPPORTED_VERSION',
    });
    const framed = server.keep(await RawClient.open(url));
    framed.sendJson({ ...HELLO, v: 99 });
    const [a, b] = await Promise.all([client.waitClosed(), framed.waitClosed()]);
    expect(a).toEqual(b);
  });

  it('counts as the hello: a hello frame after it is a duplicate', async () => {
    const { url } = await server.start();
    const client = await early(url);
    await client.next((f) => f.t === 'welcome');
    client.sendJson(HELLO);
    expect(await client.next((f) => f.t === 'error')).toMatchObject({ code: 'DUPLICATE_HELLO' });
  });

  it('needs both subprotocols: either alone selects tether.v1 and waits for the hello frame', async () => {
    const { url } = await server.start();
    const markerOnly = server.keep(
      await RawClient.open(url, { protocols: [SUBPROTOCOL, EARLY_SUBPROTOCOL] }),
    );
    const helloOnly = server.keep(
      await RawClient.open(url, { protocols: [SUBPROTOCOL, helloSubprotocol(HELLO)] }),
    );
    for (const client of [markerOnly, helloOnly]) {
      expect(client.ws.protocol).toBe(SUBPROTOCOL);
      client.sendJson({ t: 'ping', ts: 1 });
      expect(await client.next((f) => f.t === 'error')).toMatchObject({ code: 'HELLO_REQUIRED' });
      client.sendJson(HELLO);
      await client.next((f) => f.t === 'welcome');
    }
  });

  it('is not taken when unreadable or over the message limit: the client sends the frame', async () => {
    const { url } = await server.start({ maxMessageBytes: 1_024 });
    const offering = async (value: string) =>
      server.keep(
        await RawClient.open(url, {
          protocols: [SUBPROTOCOL, EARLY_SUBPROTOCOL, `${HELLO_SUBPROTOCOL_PREFIX}${value}`],
        }),
      );
    // Not base64url; base64url of bytes that are not UTF-8 (0xff 0xfe).
    const unreadable = [await offering('!!'), await offering('__4')];
    const big = { ...HELLO, client: { name: 'x'.repeat(1_100) } };
    const tooBig = await early(url, big);
    for (const client of [...unreadable, tooBig]) expect(client.ws.protocol).toBe(SUBPROTOCOL);
    for (const client of unreadable) {
      client.sendJson(HELLO);
      await client.next((f) => f.t === 'welcome');
    }
    tooBig.sendJson(big);
    expect((await tooBig.waitClosed()).code).toBe(1009);
  });

  it('comes after the auth hook: a refused token closes, an accepted one is welcomed as its user', async () => {
    const { url } = await server.start({
      authenticate: ({ token }) => (token === 'good' ? { user: 'u1' } : false),
    });
    const good = await early(url, HELLO, [authSubprotocol('good')]);
    await good.next((f) => f.t === 'welcome');
    const bad = await early(url, HELLO, [authSubprotocol('bad')]);
    const closed = await bad.waitClosed();
    expect(closed.code).toBe(4001);
    expect(bad.frames.some((f) => f.t === 'welcome')).toBe(false);
  });

  it('sends the 101 and the welcome in one write', async () => {
    const started = await server.start();
    const writes = recordWrites(started);
    const client = await early(started.url);
    await client.next((f) => f.t === 'welcome');
    const first = writes[0]?.[0] ?? '';
    expect(first).toMatch(/^HTTP\/1\.1 101 /);
    expect(first).toContain('"t":"welcome"');
  });

  it('sends the 101 alone at once where the hello is a frame', async () => {
    const started = await server.start();
    const writes = recordWrites(started);
    const client = server.keep(await RawClient.open(started.url));
    // Open: the 101 arrived, before any hello was sent.
    expect(writes[0]?.[0]).toMatch(/^HTTP\/1\.1 101 /);
    expect(writes[0]?.[0]).not.toContain('welcome');
    client.sendJson(HELLO);
    await client.next((f) => f.t === 'welcome');
  });

  it('leaves the answer to a handshake ws refuses unheld', async () => {
    const { port } = await server.start();
    // A second version header makes "13, 8": ws answers 400 into the corked socket.
    const answer = await rawUpgrade(port, '/ws', {
      'Sec-WebSocket-Protocol': [SUBPROTOCOL, EARLY_SUBPROTOCOL, helloSubprotocol(HELLO)].join(
        ', ',
      ),
      'Sec-WebSocket-Version': '8',
    });
    expect(answer.status).toBe(400);
  });

  it('lets the 101 go at the end of the turn when the store answers later', async () => {
    let release = (): void => {};
    const store = new (class extends MemoryStore {
      override createSession(init: NewSession) {
        return new Promise<void>((resolve) => {
          release = resolve;
        }).then(() => super.createSession(init));
      }
    })();
    const started = await server.start({}, { store });
    const writes = recordWrites(started);
    // Open: the 101 is not held for a welcome that is still waiting for the store.
    const client = await early(started.url);
    expect(writes[0]).toHaveLength(1);
    expect(writes[0]?.[0]).not.toContain('welcome');
    release();
    await client.next((f) => f.t === 'welcome');
    // The application's store outlives the server that uses it.
    await started.tether.close({ drainTimeoutMs: 0 });
    await store.close();
  });
});

describe('early hellos of one endpoint', () => {
  const offer = (hello: HelloFrame, early = true): string[] => [
    SUBPROTOCOL,
    ...(early ? [EARLY_SUBPROTOCOL] : []),
    helloSubprotocol(hello),
  ];

  it('decodes a repeated hello once and answers each offer by its own entry', () => {
    const hellos = new EarlyHellos(1024);
    const first = hellos.of(offer(HELLO));
    expect(JSON.parse(String(first))).toEqual(HELLO);
    // The same entry again: the same bytes, not decoded again.
    expect(hellos.of(offer(HELLO))).toBe(first);
    const resume: HelloFrame = { ...HELLO, resume: { sid: 's', token: 't', seq: 3 } };
    expect(JSON.parse(String(hellos.of(offer(resume))))).toEqual(resume);
    // The entry it remembers, offered without tether.v1.early: not an early hello.
    expect(hellos.of(offer(resume, false))).toBeUndefined();
    expect(hellos.of([SUBPROTOCOL, EARLY_SUBPROTOCOL])).toBeUndefined();
    // Unreadable, then the same unreadable entry again: refused both times.
    const bad = [SUBPROTOCOL, EARLY_SUBPROTOCOL, `${HELLO_SUBPROTOCOL_PREFIX}_-_-_`];
    expect(hellos.of(bad)).toBeUndefined();
    expect(hellos.of(bad)).toBeUndefined();
    expect(JSON.parse(String(hellos.of(offer(HELLO))))).toEqual(HELLO);
  });

  it('refuses a hello over its endpoint limit every time it is offered', () => {
    const big: HelloFrame = { ...HELLO, client: { name: 'x'.repeat(200) } } as HelloFrame;
    const hellos = new EarlyHellos(100);
    expect(hellos.of(offer(big))).toBeUndefined();
    expect(hellos.of(offer(big))).toBeUndefined();
    expect(hellos.of(offer(HELLO))).toBeDefined();
  });
});
