/**
 * `tether serve --store sqlite:PATH`: the hub keeps sessions and topic histories in the
 * SQLite file, so a client resumes its session (same sid, missed messages replayed) and
 * its topic position after the hub restarted; the hub closes the store on shutdown.
 */
import { join } from 'node:path';
import { type ServeHandle, serve } from '@tether/hub';
import { SUBPROTOCOL } from '@tether/protocol';
import { silentLogger } from '@tether/server';
import { type TempDir, tempDir, waitFor } from '@tether/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { parseServeArgs } from '../src/args.js';

type Frame = Record<string, unknown>;

const HOST = '127.0.0.1';
let hub: ServeHandle | undefined;
let dir: TempDir | undefined;
const sockets: WebSocket[] = [];

afterEach(async () => {
  for (const ws of sockets.splice(0)) ws.terminate();
  await hub?.close({ drainTimeoutMs: 500 });
  await dir?.cleanup();
  hub = undefined;
  dir = undefined;
});

function start(store: `sqlite:${string}`): Promise<ServeHandle> {
  const io = { stdout: () => {}, stderr: () => {} };
  // Topics fail closed: the test's topic needs a namespace.
  const topics = { news: { publish: 'none', subscribe: 'authenticated' } } as const;
  return serve({ port: 0, host: HOST, store, logger: silentLogger, topics }, io);
}

/** A raw protocol client: says `hello` (resuming when asked), records every frame. */
async function client(port: number, resume?: Frame): Promise<{ ws: WebSocket; frames: Frame[] }> {
  const ws = new WebSocket(`ws://${HOST}:${port}/ws`, [SUBPROTOCOL]);
  sockets.push(ws);
  const frames: Frame[] = [];
  ws.on('error', () => {});
  ws.on('message', (data) => {
    const parsed = JSON.parse(data.toString()) as Frame | Frame[];
    frames.push(...(Array.isArray(parsed) ? parsed : [parsed]));
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  ws.send(
    JSON.stringify(resume === undefined ? { t: 'hello', v: 1 } : { t: 'hello', v: 1, resume }),
  );
  await waitFor(() => frames.some((f) => f.t === 'welcome'), { message: 'welcome' });
  return { ws, frames };
}

describe('tether serve --store sqlite:PATH', () => {
  it('parses the flag', () => {
    expect(parseServeArgs(['--store', 'sqlite:./data/x.db']).flags.get('store')).toMatchObject({
      value: 'sqlite:./data/x.db',
    });
  });

  it('keeps sessions and topic positions across a hub restart', async () => {
    dir = await tempDir('tether-hub-store-');
    const store = `sqlite:${join(dir.path, 'hub.db')}` as const;
    hub = await start(store);
    const a = await client(hub.port);
    const welcome = a.frames.find((f) => f.t === 'welcome') as Frame;
    a.ws.send(JSON.stringify({ t: 'sub', topic: 'news' }));
    await waitFor(() => a.frames.some((f) => f.t === 'subscribed'), { message: 'subscribed' });
    const first = await hub.tether.publish('news', 1);
    await waitFor(() => a.frames.some((f) => f.t === 'pub'), { message: 'first pub' });
    a.ws.terminate();
    await waitFor(() => hub?.endpoint.connections.size === 0, { message: 'hub saw the cut' });
    await hub.endpoint.sendTo(welcome.sid as string, 'while you were away');
    await hub.tether.publish('news', 2);
    await hub.close({ drainTimeoutMs: 500 });
    await expect(hub.store.stats()).rejects.toMatchObject({ code: 'STORE_CLOSED' });

    hub = await start(store);
    const b = await client(hub.port, { sid: welcome.sid, token: welcome.token, seq: 0 });
    expect(b.frames.find((f) => f.t === 'welcome')).toMatchObject({
      sid: welcome.sid,
      resumed: true,
    });
    await waitFor(() => b.frames.some((f) => f.t === 'msg'), { message: 'replayed message' });
    expect(b.frames.find((f) => f.t === 'msg')).toMatchObject({
      seq: 1,
      data: 'while you were away',
    });
    b.ws.send(JSON.stringify({ t: 'sub', topic: 'news', from: first }));
    await waitFor(() => b.frames.some((f) => f.t === 'pub'), { message: 'missed publication' });
    expect(b.frames.find((f) => f.t === 'subscribed')).toMatchObject({
      epoch: first.epoch,
      recovered: true,
      replay: 1,
    });
    expect(b.frames.find((f) => f.t === 'pub')).toMatchObject({ offset: 2, data: 2 });
  });
});
