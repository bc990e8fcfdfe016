/**
 * The SQLite store across processes: a writer SIGKILLed right after its
 * appends resolved loses none of them, and several processes reading and
 * writing one file never see "database is locked" and keep offsets
 * contiguous. The child processes run the real store: its TypeScript source
 * is bundled with esbuild into a temp .mjs (better-sqlite3 left external).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { type TempDir, tempDir } from '@tether/testkit';
import { build } from 'esbuild';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SqliteStore } from '../src/index.js';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
let tmp: TempDir | undefined;
let dir = '';
let childScript = '';
const children: ChildProcess[] = [];
const stores: SqliteStore[] = [];

/**
 * The child: `write PATH TOPIC COUNT TAG` appends COUNT publications in waves
 * of 10 concurrent appends and prints `EPOCH OFFSET DATA` once each resolved;
 * `read PATH TOPIC COUNT` reads COUNT times, checking each answer is
 * contiguous. Both print `done` at the end, or `error CODE MESSAGE`.
 */
const CHILD_SOURCE = `
import { SqliteStore } from ${JSON.stringify(join(repo, 'packages/store-sqlite/src/index.ts'))};

const [mode, path, topic, countText, tag] = process.argv.slice(2);
const count = Number(countText);
const store = new SqliteStore({
  path, sweepIntervalMs: 0, historyMaxCount: 1_000_000, busyTimeoutMs: 10_000,
});
const out = (line) => process.stdout.write(line + '\\n');

async function write() {
  for (let i = 0; i < count; i += 10) {
    const wave = [];
    for (let j = i; j < Math.min(count, i + 10); j++) {
      const data = tag + '-' + j;
      wave.push(store.appendPublication(topic, data, Date.now()).then((p) => {
        out(p.epoch + ' ' + p.offset + ' ' + p.data);
      }));
    }
    await Promise.all(wave);
  }
}

async function read() {
  for (let i = 0; i < count; i++) {
    const head = await store.topicHead(topic);
    const [all, last] = await Promise.all([
      store.publicationsAfter(topic, { epoch: head.epoch, offset: 0 }),
      store.lastPublications(topic, 5),
    ]);
    if (!all.recovered) throw new Error('not recovered at ' + all.offset);
    if (all.offset < head.offset) throw new Error('head went back');
    all.publications.forEach((p, k) => {
      if (p.offset !== k + 1) throw new Error('hole at ' + (k + 1) + ': ' + p.offset);
    });
    if (all.publications.length !== all.offset) throw new Error('missing publications');
    if (last.publications.length > 0 && last.publications.at(-1).offset !== last.offset) {
      throw new Error('last is not the head');
    }
  }
}

try {
  await (mode === 'write' ? write() : read());
  await store.close();
  out('done');
} catch (err) {
  out('error ' + (err.code ?? '-') + ' ' + err.message);
  process.exitCode = 1;
}
`;

beforeAll(async () => {
  tmp = await tempDir('tether-store-durability-');
  dir = tmp.path;
  childScript = join(dir, 'store-child.mjs');
  await build({
    stdin: { contents: CHILD_SOURCE, resolveDir: repo, sourcefile: 'store-child.ts', loader: 'ts' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: ['better-sqlite3'],
    alias: {
      '@tether/common': join(repo, 'packages/common/src/index.ts'),
      '@tether/server/store': join(repo, 'packages/server/src/store-kit.ts'),
    },
    outfile: childScript,
    logLevel: 'silent',
  });
});

afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  await Promise.all(stores.splice(0).map((s) => s.close()));
});

afterAll(async () => {
  await tmp?.cleanup();
});

interface Child {
  proc: ChildProcess;
  lines: string[];
  stderr: () => string;
  /** Resolves when `n` lines arrived, rejects if the child exits first or the deadline passes. */
  waitForLines(n: number, deadlineMs: number): Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function runChild(args: string[]): Child {
  // The bundle lives in a temp dir: NODE_PATH lets its require('better-sqlite3') find the repo's copy.
  const proc = spawn(process.execPath, [childScript, ...args], {
    env: { ...process.env, NODE_PATH: join(repo, 'node_modules') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(proc);
  const lines: string[] = [];
  let err = '';
  proc.stderr?.on('data', (chunk: Buffer) => {
    err += chunk.toString();
  });
  const waiters = new Set<() => void>();
  createInterface({ input: proc.stdout as NodeJS.ReadableStream }).on('line', (line) => {
    lines.push(line);
    for (const w of waiters) w();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.on('exit', (code, signal) => {
      resolve({ code, signal });
      for (const w of waiters) w();
    });
  });
  const waitForLines = (n: number, deadlineMs: number): Promise<void> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`child: ${lines.length}/${n} lines within ${deadlineMs} ms; ${err}`));
      }, deadlineMs);
      const check = (): void => {
        if (lines.length >= n) {
          clearTimeout(timer);
          waiters.delete(check);
          resolve();
        } else if (proc.exitCode !== null || proc.signalCode !== null) {
          clearTimeout(timer);
          waiters.delete(check);
          reject(
            new Error(`child exited after ${lines.length}/${n} lines: ${lines.at(-1)} ${err}`),
          );
        }
      };
      waiters.add(check);
      check();
    });
  return { proc, lines, stderr: () => err, waitForLines, exited };
}

function openStore(path: string): SqliteStore {
  const store = new SqliteStore({ path, sweepIntervalMs: 0, historyMaxCount: 1_000_000 });
  stores.push(store);
  return store;
}

describe('sqlite store durability', () => {
  it('keeps every append that resolved before a SIGKILL', async () => {
    const path = join(dir, 'killed.db');
    const writer = runChild(['write', path, 'news', '100000', 'w']);
    await writer.waitForLines(300, 30_000);
    writer.proc.kill('SIGKILL');
    const exit = await writer.exited;
    expect(exit.signal).toBe('SIGKILL');

    const reported = writer.lines.map((line) => {
      const [epoch, offset, data] = line.split(' ');
      return { epoch, offset: Number(offset), data };
    });
    expect(reported.length).toBeGreaterThanOrEqual(300);
    const epoch = reported[0]?.epoch ?? '';
    expect(new Set(reported.map((r) => r.epoch))).toEqual(new Set([epoch]));

    const store = openStore(path);
    const head = await store.topicHead('news');
    expect(head.epoch).toBe(epoch);
    const maxReported = Math.max(...reported.map((r) => r.offset));
    expect(head.offset).toBeGreaterThanOrEqual(maxReported);
    const all = await store.publicationsAfter('news', { epoch, offset: 0 });
    expect(all.recovered).toBe(true);
    // Contiguous from 1 to the head, each with the data its writer sent.
    expect(all.publications.map((p) => p.offset)).toEqual(
      Array.from({ length: head.offset }, (_, i) => i + 1),
    );
    const byOffset = new Map(all.publications.map((p) => [p.offset, p.data]));
    for (const r of reported) expect(byOffset.get(r.offset)).toBe(r.data);
    for (const p of all.publications) expect(p.data).toBe(`w-${p.offset - 1}`);
  }, 60_000);

  it('two writers and two readers share one file: no lock errors, contiguous offsets', async () => {
    const path = join(dir, 'shared.db');
    await openStore(path).close(); // the schema exists before the children race to open it
    const perWriter = 300;
    const procs = [
      runChild(['write', path, 'shared', String(perWriter), 'a']),
      runChild(['write', path, 'shared', String(perWriter), 'b']),
      runChild(['read', path, 'shared', '150']),
      runChild(['read', path, 'shared', '150']),
    ];
    const exits = await Promise.all(procs.map((c) => c.exited));
    for (const [i, c] of procs.entries()) {
      const output = `${c.lines.at(-1)} ${c.stderr()}`;
      expect(output).not.toMatch(/locked|SQLITE_BUSY|STORE_BUSY/);
      expect(exits[i]?.code, output).toBe(0);
      expect(c.lines.at(-1)).toBe('done');
    }

    const store = openStore(path);
    const head = await store.topicHead('shared');
    expect(head.offset).toBe(2 * perWriter);
    const all = await store.publicationsAfter('shared', { epoch: head.epoch, offset: 0 });
    expect(all.publications.map((p) => p.offset)).toEqual(
      Array.from({ length: 2 * perWriter }, (_, i) => i + 1),
    );
    // Each writer's publications are all there, once each, in its own order.
    for (const tag of ['a', 'b']) {
      const mine = all.publications.filter((p) => p.data.startsWith(`${tag}-`)).map((p) => p.data);
      expect(mine).toEqual(Array.from({ length: perWriter }, (_, i) => `${tag}-${i}`));
    }
    // What the writers were told matches what is stored.
    const stored = new Map(all.publications.map((p) => [p.offset, p.data]));
    for (const c of procs.slice(0, 2)) {
      for (const line of c.lines.slice(0, -1)) {
        const [, offset, data] = line.split(' ');
        expect(stored.get(Number(offset))).toBe(data);
      }
    }
  }, 60_000);
});
