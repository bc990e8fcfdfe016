/**
 * Issue 9, finding 9: input a client controls must not produce `error`-level log lines
 * or INTERNAL answers. A publication nested 8,000 levels deep parses, but cannot be
 * encoded (JSON.stringify runs out of stack): that is bad input, answered BAD_FIELD and
 * logged at warn, and the connection keeps working.
 */
import { ErrorCode } from '@tether/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import type { Logger } from '../src/index.js';
import { RawClient, type Started, startTether } from './helpers.js';

let started: Started | undefined;
const clients: RawClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await started?.tether.close({ drainTimeoutMs: 100 });
  started = undefined;
});

interface Line {
  level: string;
  message: string;
}

function recordingLogger(lines: Line[]): Logger {
  const at =
    (level: string) =>
    (_fields: object, message?: string): void => {
      lines.push({ level, message: message ?? '' });
    };
  const logger = {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: () => logger,
  };
  return logger as unknown as Logger;
}

describe('client-caused failures', () => {
  it('answers a frame with a deep unknown field (here id on unsub) with its error, not INTERNAL', async () => {
    // The live fuzz found it: fields a frame type does not use are not checked, and the
    // error reference copied them, so encoding the answer ran out of stack.
    const lines: Line[] = [];
    started = await startTether({}, { logger: recordingLogger(lines) });
    const client = await RawClient.connect(started.url);
    clients.push(client);
    const deep = `${'['.repeat(9000)}1${']'.repeat(9000)}`;
    client.sendRaw(`{"t":"unsub","topic":"never","id":${deep},"seq":{"a":1}}`);
    const answer = await client.next((f) => f.t === 'error');
    expect(answer).toMatchObject({
      code: ErrorCode.NOT_SUBSCRIBED,
      ref: { t: 'unsub', topic: 'never' },
    });
    expect(answer.ref).toEqual({ t: 'unsub', topic: 'never' });
    client.sendJson({ t: 'ping', ts: 1 });
    await client.next((f) => f.t === 'pong');
    expect(lines.filter((l) => l.level === 'error')).toEqual([]);
  });

  it('answers a publication nested 8,000 deep with BAD_FIELD, logs no error and keeps serving', async () => {
    const lines: Line[] = [];
    started = await startTether(
      { authorizePublish: () => true },
      { logger: recordingLogger(lines) },
    );
    const client = await RawClient.connect(started.url);
    clients.push(client);
    const deep = `${'['.repeat(8000)}${']'.repeat(8000)}`;
    client.sendRaw(`{"t":"publish","topic":"deep","data":${deep},"id":1}`);
    const answer = await client.next((f) => f.t === 'error' || f.t === 'published');
    expect(answer).toMatchObject({
      t: 'error',
      code: ErrorCode.BAD_FIELD,
      ref: { t: 'publish', id: 1, topic: 'deep' },
    });
    expect(String(answer.message)).toMatch(/nested too deeply/);
    // The connection still works, and nothing was stored for the refused publication.
    client.sendJson({ t: 'publish', topic: 'deep', data: [[1]], id: 2 });
    const published = await client.next((f) => f.t === 'published' && f.id === 2);
    expect(published.offset).toBe(1);
    expect(lines.filter((l) => l.level === 'error')).toEqual([]);
    expect(lines.filter((l) => l.level === 'warn').map((l) => l.message)).toContain(
      'publication refused: data cannot be encoded',
    );
  });
});
