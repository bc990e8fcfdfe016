import { describe, expect, it } from 'vitest';
import { parseServeArgs, SERVE_USAGE, UsageError } from '../src/index.js';

function usageError(argv: string[]): string {
  try {
    parseServeArgs(argv);
  } catch (err) {
    if (err instanceof UsageError) return err.message;
    throw err;
  }
  throw new Error('expected a UsageError');
}

describe('tether serve arguments', () => {
  it('collects flag values by config key, in both --flag value and --flag=value forms', () => {
    const args = parseServeArgs([
      '--port',
      '0',
      '--host=127.0.0.1',
      '--store',
      'memory',
      '--heartbeat-interval',
      '500ms',
      '--heartbeat-timeout=2s',
      '--insecure',
      '--config',
      'hub.json',
    ]);
    expect(args.help).toBe(false);
    expect(args.configPath).toBe('hub.json');
    expect(Object.fromEntries([...args.flags].map(([k, v]) => [k, [v.value, v.label]]))).toEqual({
      port: ['0', '--port'],
      host: ['127.0.0.1', '--host'],
      store: ['memory', '--store'],
      'heartbeat.intervalMs': ['500ms', '--heartbeat-interval'],
      'heartbeat.timeoutMs': ['2s', '--heartbeat-timeout'],
      'auth.mode': ['none', '--insecure'],
    });
  });

  it('lets the last occurrence win', () => {
    expect(parseServeArgs(['--port', '1', '--port', '2']).flags.get('port')?.value).toBe('2');
    expect(parseServeArgs(['--insecure', '--auth', 'jwt']).flags.get('auth.mode')?.value).toBe(
      'jwt',
    );
  });

  it('recognizes --help and -h (the usage lists every flag)', () => {
    expect(parseServeArgs(['--help']).help).toBe(true);
    expect(parseServeArgs(['--port', 'bad', '-h']).help).toBe(true);
    for (const flag of [
      '--port',
      '--store',
      '--insecure',
      '--jwt-secret',
      '--api-key',
      '--admin-key',
    ]) {
      expect(SERVE_USAGE).toContain(flag);
    }
  });

  it.each([
    [['--port'], /^--port needs a value$/],
    [['--port', '--host'], /^--port needs a value$/],
    [['--insecure=yes'], /^--insecure takes no value$/],
    [['--config'], /^--config needs a value$/],
    [['--config='], /^--config needs a path$/],
    [['--prot', '1'], /^unknown option --prot$/],
    [['extra'], /^unexpected argument "extra"/],
  ])('rejects %j naming the flag', (argv, message) => {
    expect(usageError(argv)).toMatch(message);
  });
});
