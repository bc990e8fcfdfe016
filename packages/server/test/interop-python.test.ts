/**
 * Interop: a client in another language, written from docs/protocol.md alone
 * (test/fixtures/python-client.py, using Debian's python3-websockets), talks to
 * the real server. If the doc and the server disagree, this fails.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ReplyError } from '@tether/server';
import { systemDepMissing } from '@tether/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { type Started, startTether } from './helpers.js';

const SCRIPT = fileURLToPath(new URL('./fixtures/python-client.py', import.meta.url));

function runPython(
  url: string,
  ...args: string[]
): Promise<{ code: number | null; frames: Array<Record<string, unknown>>; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/python3', [SCRIPT, url, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    const deadline = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(deadline);
      const frames = stdout
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      resolve({ code, frames, stderr });
    });
  });
}

describe.skipIf(systemDepMissing('python3-websockets'))(
  'a Python client written from docs/protocol.md',
  () => {
    let started: Started | undefined;

    afterEach(async () => {
      await started?.tether.close({ drainTimeoutMs: 1_000 });
      started = undefined;
    });

    it('connects, pings, calls a handler, gets documented errors and acks', async () => {
      started = await startTether();
      started.endpoint.handle('add', async (data) => {
        const { a, b } = data as { a: number; b: number };
        return { sum: a + b };
      });
      const received: unknown[] = [];
      started.endpoint.onMessage((data) => {
        if ((data as { reject?: boolean }).reject === true)
          throw new ReplyError('REJECTED', 'refused for good');
        received.push(data);
      });

      const { code, frames, stderr } = await runPython(started.url);
      expect(stderr).toBe('');
      expect(code).toBe(0);

      const byType = (t: string) => frames.filter((f) => f.t === t);
      const welcomes = byType('welcome');
      const welcome = welcomes[0];
      expect(welcome).toMatchObject({ v: 1, resumed: false, hb: { interval: expect.any(Number) } });
      // Two resumes with the latest token each (it rotates), then the stale first token.
      expect(welcomes.map((w) => [w.resumed, w.reason])).toEqual([
        [false, undefined],
        [true, undefined],
        [true, undefined],
        [false, 'invalid'],
      ]);
      expect(new Set(welcomes.slice(0, 3).map((w) => w.sid)).size).toBe(1);
      expect(new Set(welcomes.map((w) => w.token)).size).toBe(4);
      expect(byType('pong')).toHaveLength(1);
      expect(byType('res')[0]).toMatchObject({ id: 1, ok: true, data: { sum: 5 } });
      expect(byType('error').map((f) => f.code)).toEqual(['BAD_JSON', 'UNKNOWN_TYPE', 'REJECTED']);
      expect(byType('error')[2]).toMatchObject({ final: true, ref: { t: 'msg', seq: 2 } });
      expect(byType('ack').map((f) => f.seq)).toEqual([1, 2, 3]);
      expect(received).toEqual([{ text: 'from python' }, { text: 'after' }]);
    });

    it('publishes reliably: a publish resent after its answer was lost is committed once, same offset', async () => {
      started = await startTether({ authorizePublish: () => true });
      const { code, frames, stderr } = await runPython(started.url, 'publish');
      expect(stderr).toBe('');
      expect(code).toBe(0);
      const published = frames.filter((f) => f.t === 'published');
      // The first connection left before reading; the resend got the position of the first time.
      expect(published.map((f) => [f.id, f.offset])).toEqual([
        [1, 1],
        [2, 2],
      ]);
      expect(frames.find((f) => f.t === 'subscribed')).toMatchObject({ offset: 2, replay: 2 });
      const pubs = frames.filter((f) => f.t === 'pub');
      expect(pubs.map((f) => [f.offset, f.data])).toEqual([
        [1, { n: 1 }],
        [2, { n: 2 }],
      ]);
    });

    it('answers refresh with a fresh token in auth, then is closed with 4002 when it stops', async () => {
      const checked: string[] = [];
      started = await startTether({
        // Tokens "py-N" expire 1.5 s after they are checked (refresh asked at half: 0.75 s).
        authenticate: ({ token, refresh }) => {
          checked.push(`${refresh === true ? 'refresh' : 'upgrade'}:${token}`);
          if (token === undefined || !token.startsWith('py-')) return false;
          return { user: 'py', expiresAt: Date.now() + 1_500 };
        },
      });
      const { code, frames, stderr } = await runPython(started.url, 'refresh');
      expect(stderr).toBe('');
      expect(code).toBe(0);
      expect(checked).toEqual(['upgrade:py-1', 'refresh:py-2']);
      const types = frames.map((f) => f.t).filter((t) => t !== 'ping');
      expect(types).toEqual(['welcome', 'refresh', 'authed', 'refresh', 'goodbye', 'closed']);
      expect(frames.find((f) => f.t === 'goodbye')).toMatchObject({ code: 4002 });
      expect(frames.find((f) => f.t === 'closed')).toEqual({ t: 'closed', code: 4002 });
    });
  },
);
