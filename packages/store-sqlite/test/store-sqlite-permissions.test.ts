/**
 * Issue 9, finding 9: the SQLite file holds sessions, resume-token hashes and every
 * retained message; it was created 0644 in a 0755 directory, readable by every local
 * user. Now the file (and its -wal and -shm) is created 0600, a directory the store
 * creates 0700.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { type TempDir, tempDir } from '@tether/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../src/index.js';

let tmp: TempDir | undefined;
let store: SqliteStore | undefined;

afterEach(async () => {
  await store?.close();
  store = undefined;
  await tmp?.cleanup();
  tmp = undefined;
});

const mode = (path: string): number => statSync(path).mode & 0o777;

describe('SQLite file permissions', () => {
  it('creates the file, its WAL and shared memory 0600, in a directory created 0700', async () => {
    tmp = await tempDir('tether-sqlite-mode-');
    const dir = join(tmp.path, 'data', 'nested');
    const path = join(dir, 'tether.db');
    store = new SqliteStore({ path });
    await store.createSession({ sid: 's1', token: 'secret', userId: 'alice', createdAt: 1 });
    expect(mode(path).toString(8)).toBe('600');
    expect(mode(`${path}-wal`).toString(8)).toBe('600');
    expect(mode(`${path}-shm`).toString(8)).toBe('600');
    expect(mode(dir).toString(8)).toBe('700');
    expect(mode(join(tmp.path, 'data')).toString(8)).toBe('700');
  });
});
