/** The `backend` section of the hub's configuration: flag, environment, file, and errors. */
import { configFromObject, resolveHubConfig } from '@tether/hub';
import { describe, expect, it } from 'vitest';
import { parseServeArgs } from '../src/index.js';

function resolve(argv: string[], env: Record<string, string> = {}) {
  const args = parseServeArgs(argv);
  return resolveHubConfig({
    flags: args.flags,
    env,
    cwd: '/nonexistent-tether-dir',
    readFile: () => {
      throw Object.assign(new Error('no file'), { code: 'ENOENT' });
    },
  });
}

describe('backend configuration', () => {
  it('is off by default, with documented defaults', () => {
    const { backend } = resolve([]).config;
    expect(backend).toEqual({
      url: undefined,
      secret: undefined,
      events: ['message', 'request'],
      paths: {
        message: '/tether/message',
        request: '/tether/request',
        connect: '/tether/connect',
        publish: '/tether/publish',
        subscribe: '/tether/subscribe',
        disconnect: '/tether/disconnect',
      },
      timeoutMs: 10_000,
      concurrency: 64,
      retry: { minDelayMs: 200, maxDelayMs: 10_000 },
    });
  });

  it('takes --backend-url over TETHER_BACKEND_URL, and the rest from the environment', () => {
    const { config, sources } = resolve(['--backend-url', 'http://127.0.0.1:9000/app/'], {
      TETHER_BACKEND_URL: 'http://other:1',
      TETHER_BACKEND_SECRET: 's'.repeat(32),
      TETHER_BACKEND_EVENTS: 'message,connect,disconnect',
      TETHER_BACKEND_TIMEOUT: '2s',
      TETHER_BACKEND_CONCURRENCY: '8',
    });
    expect(config.backend).toMatchObject({
      url: 'http://127.0.0.1:9000/app',
      secret: 's'.repeat(32),
      events: ['message', 'connect', 'disconnect'],
      timeoutMs: 2_000,
      concurrency: 8,
    });
    expect(sources['backend.url']).toBe('--backend-url');
    // connect: the backend decides who connects.
    expect(config.auth).toEqual({ mode: 'backend' });
  });

  it('takes auth.mode backend when connect is forwarded', () => {
    const input = { backend: { url: 'http://x', events: ['connect' as const] } };
    expect(configFromObject({ ...input, auth: { mode: 'backend' } }).config.auth).toEqual({
      mode: 'backend',
    });
    expect(configFromObject(input).config.auth).toEqual({ mode: 'backend' });
  });

  it.each([
    [{ backend: { url: 'ftp://x' } }, /backend\.url: expected an http:\/\/ or https:\/\/ URL/],
    [{ backend: { url: 'http://x?a=1' } }, /backend\.url: expected an http:\/\/ or https:\/\/ URL/],
    [
      { backend: { url: 'http://x', events: ['message', 'teleport'] } },
      /backend\.events: "teleport" is not one of message, request, connect/,
    ],
    [
      { backend: { url: 'http://x', paths: { message: 'no-slash' } } },
      /backend\.paths\.message: expected a path starting with "\/"/,
    ],
    [
      { backend: { url: 'http://x', concurrency: 0 } },
      /backend\.concurrency: expected an integer in \[1, 10000\]/,
    ],
    [{ backend: { url: 'http://x', secret: 'short' } }, /backend\.secret: .*32/],
    [
      { backend: { url: 'http://x', retry: { minDelayMs: 5000, maxDelayMs: 1000 } } },
      /backend\.retry\.maxDelayMs: must be at least backend\.retry\.minDelayMs/,
    ],
    [{ backend: { secret: 's'.repeat(32) } }, /backend\.secret: needs backend\.url/],
    [
      { backend: { url: 'http://x', events: ['connect'] }, auth: { secret: 'j'.repeat(32) } },
      /auth\.secret: the backend's connect hook decides who connects/,
    ],
    [
      { backend: { url: 'http://x', events: ['connect'] }, auth: { mode: 'none' } },
      /auth\.mode: the backend's connect hook decides who connects/,
    ],
    [{ auth: { mode: 'backend' } }, /auth\.mode: backend needs backend\.url and connect/],
  ])('refuses %j', (input, message) => {
    expect(() => configFromObject(input)).toThrow(message);
  });
});
