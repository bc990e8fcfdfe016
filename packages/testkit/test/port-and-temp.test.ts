import { existsSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { getFreePort, listenOnPort0, tempDir } from '../src/index.js';

describe('ports', () => {
  it('getFreePort returns a port that can be bound', async () => {
    const port = await getFreePort();
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', resolve);
    });
    await new Promise((resolve) => server.close(resolve));
  });

  it('listenOnPort0 reports where an http server listens', async () => {
    const server = createHttpServer();
    const address = await listenOnPort0(server);
    expect(address.host).toBe('127.0.0.1');
    expect(address.port).toBeGreaterThan(0);
    await new Promise((resolve) => server.close(resolve));
  });

  it('listenOnPort0 rejects when the host is not local', async () => {
    const server = createServer();
    await expect(listenOnPort0(server, '192.0.2.1')).rejects.toMatchObject({
      code: 'EADDRNOTAVAIL',
    });
  });
});

describe('tempDir', () => {
  it('creates a fresh directory and removes it with its contents', async () => {
    const dir = await tempDir('tether-testkit-');
    expect(existsSync(dir.path)).toBe(true);
    writeFileSync(join(dir.path, 'store.sqlite'), 'x');
    await dir.cleanup();
    expect(existsSync(dir.path)).toBe(false);
    await dir.cleanup();
  });
});
