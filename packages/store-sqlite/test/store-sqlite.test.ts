/**
 * What only the SQLite store does: persistence across reopen, per-tick
 * transaction batching, schema versions, typed errors, busy handling.
 * Real files in a temp dir.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ManualClock, OptionError } from '@tether/common';
import { MemoryStore, StoreError } from '@tether/server';
import { storeFiles } from '@tether/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteStore, type SqliteStoreOptions } from '../src/index.js';
import { openSqlite, type SqliteDatabase, sqliteBatchExecutor } from '../src/sqlite-driver.js';
import { SCHEMA_VERSION } from '../src/sqlite-schema.js';
import { WriteBatcher } from '../src/write-batcher.js';

const files = storeFiles('tether-store-sqlite-');
let fileNo = 0;
const rawDbs: SqliteDatabase[] = [];

afterEach(() => {
  for (const db of rawDbs.splice(0)) if (db.open) db.close();
});

const newPath = (): string => join(files.dir, `sqlite-${++fileNo}.db`);
const T0 = 1_700_000_000_000;

function openStore(path: string, options: Partial<SqliteStoreOptions> = {}): SqliteStore {
  const store = new SqliteStore({ path, sweepIntervalMs: 0, ...options });
  files.track(store);
  return store;
}

function rawDb(path: string, timeout = 5000): SqliteDatabase {
  const db = openSqlite(path, { timeout });
  rawDbs.push(db);
  return db;
}

async function rejection(promise: Promise<unknown>): Promise<StoreError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(StoreError);
  return err as StoreError;
}

function syncError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}

/** Resolves after the batcher's setImmediate has run (two turns), without sleeping. */
const nextTurns = (): Promise<void> =>
  new Promise((resolve) => setImmediate(() => setImmediate(resolve)));

describe('sqlite store: persistence', () => {
  it('reopens with the same epochs, offsets, sessions and logs', async () => {
    const path = newPath();
    const first = openStore(path);
    expect(first.journalMode).toBe('wal');
    const pubs = [];
    for (let i = 1; i <= 5; i++) pubs.push(await first.appendPublication('t', String(i), T0 + i));
    await first.createSession({ sid: 's', token: 'tok', userId: 'u', createdAt: T0 });
    await first.appendSessionMessages('s', [
      { seq: 1, payload: 'a' },
      { seq: 2, payload: 'b' },
    ]);
    await first.updateSession('s', { inSeq: 9 });
    await first.trimSessionMessages('s', 1);
    await first.close();

    const second = openStore(path);
    const head = await second.topicHead('t');
    expect(head).toEqual({ epoch: pubs[0]?.epoch, offset: 5 });
    const next = await second.appendPublication('t', '6', T0 + 6);
    expect(next).toMatchObject({ epoch: head.epoch, offset: 6 });
    const replay = await second.publicationsAfter('t', { epoch: head.epoch, offset: 2 });
    expect(replay.recovered).toBe(true);
    expect(replay.publications.map((p) => p.data)).toEqual(['3', '4', '5', '6']);
    const session = await second.getSession('s');
    expect(session).toMatchObject({ userId: 'u', outSeq: 2, ackedSeq: 1, inSeq: 9 });
    expect(await second.sessionMessagesAfter('s', 1)).toEqual({
      messages: [{ seq: 2, payload: 'b' }],
      complete: true,
      outSeq: 2,
    });
  });

  it('a new memory store starts every topic in a new epoch; a reopened file does not', async () => {
    const a = new MemoryStore({ sweepIntervalMs: 0 });
    const b = new MemoryStore({ sweepIntervalMs: 0 });
    files.track(a);
    files.track(b);
    const pa = await a.appendPublication('t', 'x', T0);
    const pb = await b.appendPublication('t', 'x', T0);
    expect(pa.offset).toBe(pb.offset);
    expect(pa.epoch).not.toBe(pb.epoch);

    const path = newPath();
    const s1 = openStore(path);
    const e1 = (await s1.topicHead('t')).epoch;
    await s1.close();
    const s2 = openStore(path);
    expect((await s2.topicHead('t')).epoch).toBe(e1);
  });

  it('applies a smaller history bound to an existing file on open', async () => {
    const path = newPath();
    const big = openStore(path, { historyMaxCount: 100 });
    for (let i = 1; i <= 20; i++) await big.appendPublication('t', String(i), T0);
    await big.close();
    const small = openStore(path, { historyMaxCount: 5 });
    const last = await small.lastPublications('t', 100);
    expect(last.publications.map((p) => p.offset)).toEqual([16, 17, 18, 19, 20]);
    expect((await small.stats()).publications).toBe(5);
  });

  it('applies per-topic count bounds on open: a longer namespace bound keeps its history', async () => {
    const path = newPath();
    const historyFor = (topic: string) => (topic.startsWith('big:') ? { maxCount: 50 } : undefined);
    const first = openStore(path, { historyMaxCount: 100 });
    for (let i = 1; i <= 20; i++) {
      await first.appendPublication('big:t', String(i), T0);
      await first.appendPublication('t', String(i), T0);
    }
    await first.close();
    const reopened = openStore(path, { historyMaxCount: 5, historyFor });
    expect((await reopened.lastPublications('big:t', 100)).publications).toHaveLength(20);
    const last = await reopened.lastPublications('t', 100);
    expect(last.publications.map((p) => p.offset)).toEqual([16, 17, 18, 19, 20]);
  });

  it('close() commits writes still queued, and their promises resolve', async () => {
    const path = newPath();
    const store = openStore(path);
    const pending = Array.from({ length: 20 }, (_, i) =>
      store.appendPublication('t', String(i), T0),
    );
    await store.close();
    const done = await Promise.all(pending);
    expect(done.map((p) => p.offset)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    const reopened = openStore(path);
    expect((await reopened.topicHead('t')).offset).toBe(20);
  });
});

describe('sqlite store: batching', () => {
  it('commits the operations of one tick in one transaction; promises resolve in order', async () => {
    // No time slice: on a loaded machine 200 operations may take longer than 10 ms, and
    // this test is about the tick, not the slice (tested below).
    const store = openStore(newPath(), { batchMaxMs: 0 });
    await store.createSession({ sid: 's', token: 't', createdAt: T0 });
    const before = await store.stats();
    const order: number[] = [];
    const appends = Array.from({ length: 200 }, (_, i) =>
      store.appendPublication('t', String(i), T0).then((p) => {
        order.push(i);
        return p;
      }),
    );
    const logAppend = store.appendSessionMessages('s', [{ seq: 1, payload: 'm' }]);
    const pubs = await Promise.all(appends);
    await logAppend;
    const after = await store.stats();
    expect(after.transactions - before.transactions).toBe(1);
    expect(after.largestBatch).toBeGreaterThanOrEqual(201);
    expect(order).toEqual(Array.from({ length: 200 }, (_, i) => i));
    expect(pubs.map((p) => p.offset)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
  });

  it('splits a burst into transactions of at most maxBatch operations', async () => {
    const store = openStore(newPath(), { maxBatch: 50, batchMaxMs: 0 });
    await store.topicHead('t');
    const before = (await store.stats()).transactions;
    const pubs = await Promise.all(
      Array.from({ length: 120 }, (_, i) => store.appendPublication('t', String(i), T0)),
    );
    expect(pubs.at(-1)?.offset).toBe(120);
    const stats = await store.stats();
    expect(stats.transactions - before).toBe(3);
    expect(stats.largestBatch).toBe(50);
  });

  it('a batch past maxBatchMs commits what ran and runs the rest after the event loop served others', async () => {
    const db = rawDb(newPath());
    db.exec('CREATE TABLE items (n INTEGER PRIMARY KEY)');
    const batcher = new WriteBatcher(sqliteBatchExecutor(db), {
      maxBatch: 100,
      maxBatchMs: 5,
      mapError: (err) => (err instanceof Error ? err : new Error(String(err))),
      closedError: () => new Error('closed'),
    });
    const insert = db.prepare('INSERT INTO items (n) VALUES (?)');
    const order: (number | string)[] = [];
    // Ten operations of 3 ms of CPU each (a large replay page read stands for one).
    const ops = Array.from({ length: 10 }, (_, n) =>
      batcher.submit(true, () => {
        const until = performance.now() + 3;
        while (performance.now() < until) {
          // busy: the operation's own work
        }
        order.push(n);
        return insert.run(n).changes;
      }),
    );
    // Queued after the batch: before the fix it ran only once all ten were done.
    const served = new Promise<void>((resolve) =>
      setImmediate(() => {
        order.push('other work');
        resolve();
      }),
    );
    await expect(Promise.all(ops)).resolves.toEqual(Array(10).fill(1));
    await served;
    const other = order.indexOf('other work');
    expect(other).toBeGreaterThan(0);
    expect(other).toBeLessThan(order.length - 1);
    expect(order.filter((x) => x !== 'other work')).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(batcher.transactions).toBeGreaterThanOrEqual(2);
    expect(db.prepare('SELECT COUNT(*) FROM items').pluck().get()).toBe(10);
    batcher.close();
  });

  it('a read alone still reads one snapshot: a write by another connection between its statements is not half-seen', async () => {
    // lastPublications reads the topic's head, then a page of rows; another process may
    // append between the two. A clean clone's CI saw the page run past the head it reported.
    const path = newPath();
    const reader = openStore(path);
    const writer = openStore(path);
    for (let i = 1; i <= 3; i++) await writer.appendPublication('t', `w${i}`, T0);
    const topics = (reader as unknown as { topics: { page: (...a: unknown[]) => unknown } }).topics;
    const page = topics.page.bind(topics);
    let raced = 0;
    topics.page = (...args: unknown[]) => {
      // Two more appends committed by the other connection, synchronously, right here.
      for (let i = 0; i < 2; i++) void writer.appendPublication('t', `late${i}`, T0);
      (writer as unknown as { batcher: { flushNow(): void } }).batcher.flushNow();
      raced++;
      return page(...args);
    };
    const last = await reader.lastPublications('t', 2);
    expect(raced).toBe(1);
    expect(last.offset).toBe(3);
    expect(last.publications.map((p) => [p.offset, p.data])).toEqual([
      [2, 'w2'],
      [3, 'w3'],
    ]);
    topics.page = page;
    expect((await reader.topicHead('t')).offset).toBe(5);
  });

  it('a failing operation does not fail its batch, and its own writes are undone', async () => {
    const path = newPath();
    const db = rawDb(path);
    db.exec('CREATE TABLE items (n INTEGER PRIMARY KEY)');
    const batcher = new WriteBatcher(sqliteBatchExecutor(db), {
      maxBatch: 100,
      mapError: (err) => (err instanceof Error ? err : new Error(String(err))),
      closedError: () => new Error('closed'),
    });
    const insert = db.prepare('INSERT INTO items (n) VALUES (?)');
    const ok1 = batcher.submit(true, () => insert.run(1).changes);
    const bad = batcher.submit(true, () => {
      insert.run(2);
      throw new Error('after a write');
    });
    const ok2 = batcher.submit(true, () => insert.run(3).changes);
    const read = batcher.submit(false, () =>
      db.prepare('SELECT COUNT(*) FROM items').pluck().get(),
    );
    await expect(ok1).resolves.toBe(1);
    await expect(bad).rejects.toThrow('after a write');
    await expect(ok2).resolves.toBe(1);
    await expect(read).resolves.toBe(2);
    expect(db.prepare('SELECT n FROM items ORDER BY n').pluck().all()).toEqual([1, 3]);
    expect(batcher.transactions).toBe(1);
    expect(batcher.failedOperations).toBe(1);
    batcher.close();
    await expect(batcher.submit(false, () => 1)).rejects.toThrow('closed');
  });

  it('refused appends in a batch leave the neighbours committed', async () => {
    const store = openStore(newPath());
    await store.createSession({ sid: 's', token: 't', createdAt: T0 });
    const a = store.appendSessionMessages('s', [{ seq: 1, payload: 'a' }]);
    const b = store.appendSessionMessages('s', [{ seq: 3, payload: 'gap' }]);
    const c = store.appendSessionMessages('s', [{ seq: 2, payload: 'b' }]);
    await expect(a).resolves.toEqual({ outSeq: 1, dropped: 0 });
    expect((await rejection(b)).code).toBe('SEQ_CONFLICT');
    await expect(c).resolves.toEqual({ outSeq: 2, dropped: 0 });
  });
});

describe('sqlite store: schema, options and errors', () => {
  it('records the schema version and refuses a newer one', async () => {
    const path = newPath();
    const store = openStore(path);
    await store.close();
    const db = rawDb(path);
    expect(db.prepare('SELECT MAX(version) FROM schema_version').pluck().get()).toBe(
      SCHEMA_VERSION,
    );
    db.prepare('INSERT INTO schema_version (version, applied_at) VALUES (?, ?)').run(
      SCHEMA_VERSION + 1,
      T0,
    );
    db.close();
    const err = syncError(() => new SqliteStore({ path, sweepIntervalMs: 0 }));
    expect(err).toBeInstanceOf(StoreError);
    expect((err as StoreError).code).toBe('STORE_SCHEMA_TOO_NEW');
  });

  it('turns driver and file errors into typed StoreErrors with a cause', () => {
    const notDb = join(files.dir, 'not-a-db.db');
    writeFileSync(notDb, 'this is not a database file, just text that is long enough'.repeat(20));
    const corrupt = syncError(() => new SqliteStore({ path: notDb, sweepIntervalMs: 0 }));
    expect(corrupt).toBeInstanceOf(StoreError);
    expect((corrupt as StoreError).code).toBe('STORE_CORRUPT');
    expect((corrupt as StoreError).cause).toBeInstanceOf(Error);

    const underFile = join(notDb, 'sub', 'x.db');
    const io = syncError(() => new SqliteStore({ path: underFile, sweepIntervalMs: 0 }));
    expect((io as StoreError).code).toBe('STORE_IO');
  });

  it('waits for a lock held by another connection, then fails typed and retryable', async () => {
    const path = newPath();
    const store = openStore(path, { busyTimeoutMs: 50 });
    await store.topicHead('t');
    const other = rawDb(path);
    other.exec('BEGIN IMMEDIATE');
    const err = await rejection(store.appendPublication('t', 'x', T0));
    expect(err.code).toBe('STORE_BUSY');
    expect(err.retryable).toBe(true);
    // Reads are not blocked by a writer (WAL).
    expect((await store.topicHead('t')).offset).toBe(0);
    other.exec('COMMIT');
    expect((await store.appendPublication('t', 'x', T0)).offset).toBe(1);
  });

  it('validates options at construction, naming the option', () => {
    const path = newPath();
    const cases: [Record<string, unknown>, string][] = [
      [{ path: '' }, 'store.path'],
      [{ path, synchronous: 'sometimes' }, 'store.synchronous'],
      [{ path, busyTimeoutMs: -1 }, 'store.busyTimeoutMs'],
      [{ path, maxBatch: 0 }, 'store.maxBatch'],
      [{ path, historyMaxCount: 1.5 }, 'store.historyMaxCount'],
      [{ path, sessionMaxBytes: 0 }, 'store.sessionMaxBytes'],
      [{ path, pth: 'x' }, 'store.pth'],
      [{ path, onError: 'log' }, 'store.onError'],
    ];
    for (const [options, name] of cases) {
      const err = syncError(() => new SqliteStore(options as unknown as SqliteStoreOptions));
      expect(err, name).toBeInstanceOf(OptionError);
      expect((err as OptionError).option).toBe(name);
      expect((err as Error).message).toContain(name);
    }
    // synchronous 'full' is accepted.
    openStore(path, { synchronous: 'full' });
  });

  it('runs its own sweep on the injected clock', async () => {
    const clock = new ManualClock(T0);
    const store = openStore(newPath(), { clock, sweepIntervalMs: 1000 });
    await store.createSession({
      sid: 's',
      token: 't',
      createdAt: T0,
      disconnectedAt: T0,
      expiresAt: T0 + 500,
    });
    expect(clock.pending).toBe(1);
    clock.advance(1000);
    await nextTurns();
    expect(await store.getSession('s')).toBeUndefined();
    expect((await store.stats()).sweeps).toBe(1);
    await store.close();
    expect(clock.pending).toBe(0);
  });
});

describe('memory store: its own sweep', () => {
  it('runs on the injected clock and stops on close', async () => {
    const clock = new ManualClock(T0);
    const store = new MemoryStore({ clock, sweepIntervalMs: 1000 });
    files.track(store);
    await store.createSession({ sid: 's', token: 't', createdAt: T0, expiresAt: T0 + 10 });
    clock.advance(999);
    expect(await store.getSession('s')).toBeDefined();
    clock.advance(1);
    expect(await store.getSession('s')).toBeUndefined();
    await store.close();
    expect(clock.pending).toBe(0);
  });

  it('validates options, naming the option', () => {
    const err = syncError(() => new MemoryStore({ topicIdleMs: -5 }));
    expect(err).toBeInstanceOf(OptionError);
    expect((err as OptionError).option).toBe('store.topicIdleMs');
  });
});
