import { describe, expect, it } from 'vitest';
import { parseServeArgs, UsageError } from '../src/index.js';

function usageError(argv: string[], env: Record<string, string> = {}): string {
  try {
    parseServeArgs(argv, env);
  } catch (err) {
    if (err instanceof UsageError) return err.message;
    throw err;
  }
  throw new Error('expected a UsageError');
}

describe('tether serve arguments', () => {
  it('has defaults: port 8080, host 0.0.0.0, memory store, server heartbeat defaults', () => {
    expect(parseServeArgs([])).toEqual({
      port: 8080,
      host: '0.0.0.0',
      store: 'memory',
      heartbeatIntervalMs: undefined,
      heartbeatTimeoutMs: undefined,
      help: false,
    });
  });

  it('reads flags in both --flag value and --flag=value forms', () => {
    const args = parseServeArgs([
      '--port',
      '0',
      '--host=127.0.0.1',
      '--store',
      'memory',
      '--heartbeat-interval',
      '500ms',
      '--heartbeat-timeout=2s',
    ]);
    expect(args).toMatchObject({
      port: 0,
      host: '127.0.0.1',
      heartbeatIntervalMs: 500,
      heartbeatTimeoutMs: 2000,
    });
    expect(parseServeArgs(['--heartbeat-interval', '1.5s']).heartbeatIntervalMs).toBe(1500);
    expect(parseServeArgs(['--heartbeat-interval', '250']).heartbeatIntervalMs).toBe(250);
  });

  it('takes the port from PORT when --port is absent, and --port wins over it', () => {
    expect(parseServeArgs([], { PORT: '9090' }).port).toBe(9090);
    expect(parseServeArgs(['--port', '7070'], { PORT: '9090' }).port).toBe(7070);
    expect(usageError([], { PORT: 'http' })).toMatch(/^PORT: /);
  });

  it('recognizes --help and -h', () => {
    expect(parseServeArgs(['--help']).help).toBe(true);
    expect(parseServeArgs(['--port', 'bad', '-h']).help).toBe(true);
  });

  it.each([
    [['--port', 'abc'], /^--port: expected a port number/],
    [['--port', '70000'], /^--port: /],
    [['--port', '-1'], /^--port needs a value|^--port: /],
    [['--port'], /^--port needs a value/],
    [['--host', ''], /^--host: /],
    [['--store', 'sqlite:/tmp/x.db'], /^--store: only "memory" is supported/],
    [['--store', 'redis'], /^--store: /],
    [['--heartbeat-interval', 'soon'], /^--heartbeat-interval: cannot parse duration "soon"/],
    [['--heartbeat-interval', '5ms'], /^--heartbeat-interval: must be between/],
    [['--heartbeat-timeout', '2d'], /^--heartbeat-timeout: cannot parse/],
    [['--heartbeat-timeout', '48h'], /^--heartbeat-timeout: must be between/],
    [['--prot', '1'], /^unknown option --prot/],
    [['extra'], /^unexpected argument "extra"/],
    [['--port', '--host'], /^--port needs a value/],
  ])('rejects %j naming the flag', (argv, message) => {
    expect(usageError(argv)).toMatch(message);
  });
});
