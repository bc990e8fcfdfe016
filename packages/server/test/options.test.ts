import { createServer } from 'node:http';
import { PROTOCOL_DEFAULTS } from '@tether/protocol';
import { optionError } from '@tether/testkit';
import { describe, expect, it } from 'vitest';
import {
  AuthError,
  ReplyError,
  SERVER_DEFAULTS,
  silentLogger,
  TetherServer,
} from '../src/index.js';
import { resolveEndpointOptions } from '../src/options.js';

describe('defaults', () => {
  it('follow the design brief', () => {
    expect(SERVER_DEFAULTS).toMatchObject({
      heartbeatIntervalMs: 25_000,
      heartbeatTimeoutMs: 10_000,
      maxMessageBytes: 64 * 1024,
      maxConnectionsPerIp: 100,
      ratePerSecond: 100,
      rateBurst: 200,
      resumeWindowMs: 120_000,
      port: 8080,
      host: '0.0.0.0',
    });
    expect(SERVER_DEFAULTS.heartbeatIntervalMs).toBe(PROTOCOL_DEFAULTS.heartbeatIntervalMs);
    const resolved = resolveEndpointOptions();
    expect(resolved).toMatchObject({
      heartbeatIntervalMs: 25_000,
      heartbeatTimeoutMs: 10_000,
      replayPageBytes: 256 * 1024,
      maxSubscriptionsPerConnection: 1000,
      rateLimit: { perSecond: 100, burst: 200, dropsBeforeClose: 100 },
      authorizePublish: undefined,
    });
  });

  it('accept 0 where 0 is meaningful (?? not ||)', () => {
    expect(resolveEndpointOptions({ resumeWindowMs: 0 }).resumeWindowMs).toBe(0);
    const tether = new TetherServer({ port: 0, logger: silentLogger, drainTimeoutMs: 0 });
    expect(tether.stats().state).toBe('running');
  });
});

describe('validation names the option', () => {
  it.each([
    [{ heartbeatIntervalMs: 0 }, 'heartbeatIntervalMs'],
    [{ heartbeatTimeoutMs: -1 }, 'heartbeatTimeoutMs'],
    [{ handshakeTimeoutMs: 1.5 }, 'handshakeTimeoutMs'],
    [{ maxMessageBytes: 10 }, 'maxMessageBytes'],
    [{ maxBatch: 1001 }, 'maxBatch'],
    [{ maxConnectionsPerIp: 0 }, 'maxConnectionsPerIp'],
    [{ rateLimit: { perSecond: 0 } }, 'rateLimit.perSecond'],
    [{ rateLimit: { burst: Number.NaN } }, 'rateLimit.burst'],
    [{ rateLimit: { perSecnd: 5 } }, 'rateLimit.perSecnd'],
    [{ rateLimit: 5 }, 'rateLimit'],
    [{ origins: 'https://a.example' }, 'origins'],
    [{ authenticate: 'yes' }, 'authenticate'],
    [{ authorizePublish: true }, 'authorizePublish'],
    [{ slowConsumerBytes: 1 }, 'slowConsumerBytes'],
    [{ replayPageBytes: 1000 }, 'replayPageBytes'],
    [{ replayPageBytes: 2.5e3 + 0.5 }, 'replayPageBytes'],
    [{ maxSubscriptionsPerConnection: 0 }, 'maxSubscriptionsPerConnection'],
    [{ maxSubscriptionsPerConnection: Number.NaN }, 'maxSubscriptionsPerConnection'],
    [{ heartbeatIntervall: 5 }, 'endpoint.heartbeatIntervall'],
  ])('endpoint option %j', (options, name) => {
    const err = optionError(() => resolveEndpointOptions(options as never));
    expect(err.option).toBe(name);
    expect(err.message).toContain(name);
  });

  it.each([
    [{ port: 70_000 }, 'port'],
    [{ port: -1 }, 'port'],
    [{ host: '' }, 'host'],
    [{ logger: {} }, 'logger'],
    [{ drainTimeoutMs: -5 }, 'drainTimeoutMs'],
    [{ trustProxy: 'yes' }, 'trustProxy'],
    [{ trustProxy: true }, 'trustProxy'],
    [{ trustProxy: ['10.0.0.0/33'] }, 'trustProxy'],
    [{ server: createServer(), port: 80 }, 'server'],
    [{ prot: 1 }, 'TetherServer.prot'],
  ])('server option %#', (options, name) => {
    const err = optionError(
      () => new TetherServer({ logger: silentLogger, ...(options as object) }),
    );
    expect(err.option).toBe(name);
  });

  it('validates endpoint options at endpoint()', () => {
    const tether = new TetherServer({ port: 0, logger: silentLogger });
    expect(() => tether.endpoint('/ws', { maxBatch: 0 })).toThrow(/maxBatch/);
    // A failed endpoint() leaves nothing behind: the path is still free.
    tether.endpoint('/ws');
  });
});

describe('errors', () => {
  it('are TetherErrors with code, retryable and cause', () => {
    const cause = new Error('token expired');
    const auth = new AuthError('unauthorized', 'expired', { cause });
    expect(auth).toMatchObject({
      name: 'AuthError',
      code: 'UNAUTHORIZED',
      closeCode: 4001,
      retryable: false,
      cause,
    });
    expect(new AuthError('forbidden')).toMatchObject({
      code: 'FORBIDDEN',
      closeCode: 4003,
      message: 'forbidden',
    });
    expect(new ReplyError('NOT_FOUND', 'no such order')).toMatchObject({
      code: 'NOT_FOUND',
      retryable: false,
    });
    expect(() => new ReplyError('bad code', 'x')).toThrow(TypeError);
  });
});
