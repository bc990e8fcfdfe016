/**
 * The SQLite store across a restart, in-process: sessions (ids, tokens, sequence
 * numbers, unacknowledged messages) and topic histories (epochs, offsets) outlive the
 * server that wrote them; a new server on the same file resumes the same sid.
 */
import { join } from 'node:path';
import type { Store } from '@tether/server';
import { SqliteStore } from '@tether/store-sqlite';
import { type TempDir, tempDir } from '@tether/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { acks, cut, hello, offsets, reliable, resumeOf } from './delivery-helpers.js';
import { type RawClient, type Started, startTether, until } from './helpers.js';

let started: Started | undefined;
let dir: TempDir | undefined;
const clients: RawClient[] = [];
const stores: Store[] = [];

/** A SQLite store on `path`; a Store object passed to the server stays ours to close. */
function sqlite(path: string): SqliteStore {
  const store = new SqliteStore({ path });
  stores.push(store);
  return store;
}

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await started?.tether.close({ drainTimeoutMs: 500 });
  await Promise.all(stores.splice(0).map((store) => store.close()));
  await dir?.cleanup();
  started = undefined;
  dir = undefined;
});

async function connect(url: string, resume?: Parameters<typeof hello>[1]) {
  const h = await hello(url, resume);
  clients.push(h.c);
  return h;
}

describe('sqlite store', () => {
  it('survives a server restart: same sid, unacked messages replayed, processed seqs kept, topic continues', async () => {
    dir = await tempDir('tether-durable-');
    const file = join(dir.path, 'tether.db');
    const handled: number[] = [];
    const first = sqlite(file);
    started = await startTether({ ackDelayMs: 0 }, { store: first });
    started.endpoint.onMessage((data) => {
      handled.push(data as number);
    });
    const a = await connect(started.url);
    const sid = a.welcome.sid as string;
    a.c.sendJson({ t: 'sub', topic: 'news' });
    const sub = await a.c.next((f) => f.t === 'subscribed');
    for (let n = 1; n <= 3; n += 1) await started.tether.publish('news', n);
    await started.endpoint.sendTo(sid, 'one');
    a.c.sendJson({ t: 'msg', seq: 1, data: 1 });
    a.c.sendJson({ t: 'msg', seq: 2, data: 2 });
    await until(() => acks(a.c).includes(2) && reliable(a.c).length === 1, 'ack 2 and msg 1');
    await until(() => offsets(a.c, 'news').length === 3, 'three publications');
    a.c.sendJson({ t: 'ack', seq: 1 });
    await cut(a.c);
    await until(() => started?.endpoint.connections.size === 0, 'server saw the cut');
    // While the client is away: two direct messages and two publications.
    await started.endpoint.sendTo(sid, 'two');
    await started.endpoint.sendTo(sid, 'three');
    await started.tether.publish('news', 4);
    await started.tether.publish('news', 5);
    await started.tether.close({ drainTimeoutMs: 500 });
    await first.close();

    // A new server (new port, new process state) on the same file.
    started = await startTether({ ackDelayMs: 0 }, { store: sqlite(file) });
    started.endpoint.onMessage((data) => {
      handled.push(data as number);
    });
    const b = await connect(started.url, resumeOf(a.welcome, 1));
    expect(b.welcome).toMatchObject({ resumed: true, sid, ack: 2 });
    await b.c.next((f) => f.t === 'msg' && f.seq === 3);
    expect(reliable(b.c)).toEqual([
      [2, 'two'],
      [3, 'three'],
    ]);
    b.c.sendJson({ t: 'sub', topic: 'news', from: { epoch: sub.epoch, offset: 3 } });
    expect(await b.c.next((f) => f.t === 'subscribed')).toMatchObject({
      epoch: sub.epoch,
      offset: 5,
      recovered: true,
      replay: 2,
    });
    await until(() => offsets(b.c, 'news').length === 2, 'missed publications');
    expect(offsets(b.c, 'news')).toEqual([4, 5]);
    // Client seq 2 was processed before the restart: a resend does not run it again.
    b.c.sendJson({ t: 'msg', seq: 2, data: 2 });
    b.c.sendJson({ t: 'msg', seq: 3, data: 3 });
    await b.c.next((f) => f.t === 'ack' && f.seq === 3);
    expect(handled).toEqual([1, 2, 3]);
    // Numbering continues in the session and the topic.
    expect((await started.endpoint.sendTo(sid, 'four')).seq).toBe(4);
    expect(await started.tether.publish('news', 6)).toMatchObject({ epoch: sub.epoch, offset: 6 });
  });

  it('closes the store it opened on shutdown; leaves a Store object it was given to its owner', async () => {
    dir = await tempDir('tether-durable-');
    started = await startTether({}, { store: 'memory' });
    const owned = started.tether.store;
    await started.tether.close({ drainTimeoutMs: 500 });
    await expect(owned.stats()).rejects.toMatchObject({ code: 'STORE_CLOSED' });

    const given = new SqliteStore({ path: join(dir.path, 'given.db') });
    started = await startTether({}, { store: given });
    expect(started.tether.store).toBe(given);
    await started.tether.close({ drainTimeoutMs: 500 });
    expect((await given.stats()).kind).toBe('sqlite');
    await given.close();
  });
});
