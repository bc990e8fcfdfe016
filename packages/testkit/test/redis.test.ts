import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { startRedis, systemDepMissing, withTimeout } from '../src/index.js';

/** Sends one RESP command over a fresh connection and returns the raw reply line. */
function command(port: number, ...args: string[]): Promise<string> {
  const request = `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let reply = '';
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(request));
    socket.on('data', (chunk: string) => {
      reply += chunk;
      if (reply.endsWith('\r\n')) {
        socket.destroy();
        resolve(reply);
      }
    });
    socket.on('error', reject);
  });
}

describe.skipIf(systemDepMissing('redis-server'))('startRedis', () => {
  it('starts a server that answers PING, and stop() shuts it down', async () => {
    const redis = await startRedis();
    try {
      expect(redis.host).toBe('127.0.0.1');
      expect(redis.url).toBe(`redis://127.0.0.1:${redis.port}`);
      expect(await command(redis.port, 'PING')).toBe('+PONG\r\n');
      expect(await command(redis.port, 'SET', 'tether', 'v1')).toBe('+OK\r\n');
      expect(await command(redis.port, 'GET', 'tether')).toBe('$2\r\nv1\r\n');
      // No persistence: a test server must never write dump files.
      expect(await command(redis.port, 'CONFIG', 'GET', 'save')).toBe(
        '*2\r\n$4\r\nsave\r\n$0\r\n\r\n',
      );
    } finally {
      await redis.stop();
    }
    await expect(command(redis.port, 'PING')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    // stop() is idempotent.
    await withTimeout(redis.stop(), 5000, 'second stop()');
  });

  it('runs independent instances side by side', async () => {
    const [a, b] = await Promise.all([startRedis(), startRedis()]);
    try {
      expect(a.port).not.toBe(b.port);
      await command(a.port, 'SET', 'k', 'a');
      expect(await command(b.port, 'GET', 'k')).toBe('$-1\r\n');
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});
