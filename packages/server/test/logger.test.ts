/** The server's dependency-free default logger: JSON lines in pino's shape. */
import { describe, expect, it } from 'vitest';
import { jsonLineLogger } from '../src/index.js';

describe('jsonLineLogger', () => {
  it('writes one JSON line per entry at or above its level, with bindings and the context', () => {
    const lines: string[] = [];
    const logger = jsonLineLogger('info', (line) => lines.push(line), { name: 'tether' });
    logger.debug({ hidden: true }, 'below the level');
    logger.info({ port: 8080 }, 'listening');
    logger.child({ endpoint: '/ws' }).error({ code: 1011 }, 'handler failed');
    expect(lines.every((line) => line.endsWith('\n'))).toBe(true);
    const entries = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(entries).toHaveLength(2);
    expect(entries[0]).toMatchObject({ level: 30, name: 'tether', port: 8080, msg: 'listening' });
    expect(entries[1]).toMatchObject({ level: 50, name: 'tether', endpoint: '/ws', code: 1011 });
    expect(typeof entries[0]?.time).toBe('number');
  });

  it('silent writes nothing; a context that cannot be serialized still logs the message', () => {
    const lines: string[] = [];
    jsonLineLogger('silent', (line) => lines.push(line)).error({}, 'dropped');
    expect(lines).toEqual([]);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    jsonLineLogger('debug', (line) => lines.push(line)).warn(cyclic, 'still here');
    expect(JSON.parse(lines[0] ?? '')).toMatchObject({ level: 40, msg: 'still here' });
  });
});
