import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { handleShutdownSignals, type ServeHandle, serve } from '@tether/hub';
import { SUBPROTOCOL } from '@tether/protocol';
import { waitFor, withTimeout } from '@tether/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { main } from '../src/index.js';
import { capture } from './cli-helpers.js';

const HOST = '127.0.0.1';

class FakeSignals extends EventEmitter {
  send(signal: 'SIGTERM' | 'SIGINT'): void {
    this.emit(signal);
  }
}

/** A raw protocol client: hello, then collect frames until the close. */
function rawClient(
  url: string,
): Promise<{ frames: Array<Record<string, unknown>>; closed: Promise<number>; ws: WebSocket }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, [SUBPROTOCOL]);
    const frames: Array<Record<string, unknown>> = [];
    const closed = new Promise<number>((res) => ws.on('close', (code) => res(code)));
    ws.on('message', (data) => {
      const parsed = JSON.parse(data.toString()) as
        | Record<string, unknown>
        | Array<Record<string, unknown>>;
      frames.push(...(Array.isArray(parsed) ? parsed : [parsed]));
      if (frames.some((f) => f.t === 'welcome')) resolve({ frames, closed, ws });
    });
    ws.on('open', () => ws.send(JSON.stringify({ t: 'hello', v: 1 })));
    ws.on('error', reject);
  });
}

const handles: ServeHandle[] = [];
afterEach(async () => {
  for (const h of handles.splice(0)) await h.close({ drainTimeoutMs: 500 });
});

describe('tether (main)', () => {
  it('prints usage and exits 2 without a command, 0 with --help, 2 for an unknown command', async () => {
    const a = capture();
    expect(await main([], { io: a })).toBe(2);
    expect(a.err.join('\n')).toContain('Usage: tether');
    const b = capture();
    expect(await main(['--help'], { io: b })).toBe(0);
    expect(b.out.join('\n')).toContain('serve');
    const c = capture();
    expect(await main(['launch'], { io: c })).toBe(2);
    expect(c.err.join('\n')).toContain('unknown command "launch"');
    const d = capture();
    expect(await main(['serve', '--help'], { io: d })).toBe(0);
    expect(d.out.join('\n')).toContain('--heartbeat-interval');
  });

  it('exits 2 with a message naming the flag for a bad flag', async () => {
    const io = capture();
    expect(await main(['serve', '--heartbeat-interval', 'forever'], { io, env: {} })).toBe(2);
    expect(io.err[0]).toContain('--heartbeat-interval');
    const io2 = capture();
    expect(await main(['serve', '--store', 'redis://127.0.0.1/x'], { io: io2, env: {} })).toBe(2);
    expect(io2.err[0]).toContain('--store: the database must be a number');
  });

  it('refuses to start reachable from the network without a way to verify tokens, and says how', async () => {
    const io = capture();
    expect(await main(['serve', '--store', 'memory', '--host', '0.0.0.0'], { io, env: {} })).toBe(
      2,
    );
    expect(io.err[0]).toMatch(/^tether serve: auth: tokens cannot be verified/);
    expect(io.err[0]).toContain('TETHER_JWT_SECRET');
    expect(io.err[0]).toContain('--insecure');
  });

  it('serves /ws and /healthz, then drains on SIGTERM and exits 0', async () => {
    const io = capture();
    const signals = new FakeSignals();
    let handle: ServeHandle | undefined;
    const exited = main(
      [
        'serve',
        '--port',
        '0',
        '--host',
        HOST,
        '--heartbeat-interval',
        '20s',
        '--heartbeat-timeout',
        '5s',
        // The foundation's command line, unchanged: no auth flags needed on loopback.
        '--store',
        'memory',
      ],
      {
        io,
        env: {},
        signals,
        exit: () => {
          throw new Error('no forced exit expected');
        },
        onServing: (h) => {
          handle = h;
        },
      },
    );
    const running = await waitFor(() => handle, { message: 'serving' });
    expect(io.out[0]).toBe(`tether listening on http://${HOST}:${running.port} (ws: /ws)`);
    expect(io.err.join('\n')).toContain('WARNING: authentication is OFF');

    const health = await fetch(`${running.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok', state: 'running' });
    const missing = await fetch(`${running.url}/nothing`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: { code: 'NOT_FOUND' } });

    const client = await rawClient(`ws://${HOST}:${running.port}/ws`);
    expect(client.frames[0]).toMatchObject({
      t: 'welcome',
      hb: { interval: 20_000, timeout: 5_000 },
    });

    signals.send('SIGTERM');
    expect(await withTimeout(client.closed, 5000, 'client closed')).toBe(1012);
    expect(client.frames.at(-1)).toMatchObject({ t: 'goodbye', code: 1012 });
    expect(await withTimeout(exited, 5000, 'main resolved')).toBe(0);
    expect(io.err.join('\n')).toContain('SIGTERM received');
    expect(signals.listenerCount('SIGTERM')).toBe(0);
    expect(running.http.listening).toBe(false);
  });

  it('reads tether.config.json from the working directory, and stops at a bad one naming the key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tether-serve-config-'));
    try {
      writeFileSync(
        join(dir, 'tether.config.json'),
        JSON.stringify({
          port: 0,
          host: HOST,
          store: 'memory',
          auth: { mode: 'none' },
          log: { level: 'silent' },
        }),
      );
      const io = capture();
      const signals = new FakeSignals();
      let handle: ServeHandle | undefined;
      const exited = main(['serve'], {
        io,
        env: {},
        cwd: dir,
        signals,
        onServing: (h) => {
          handle = h;
        },
      });
      await waitFor(() => handle, { message: 'serving' });
      expect(io.out.join('\n')).toContain(
        'store: memory (state is lost on restart) · config: tether.config.json',
      );
      signals.send('SIGTERM');
      expect(await withTimeout(exited, 5000, 'main resolved')).toBe(0);

      writeFileSync(
        join(dir, 'tether.config.json'),
        JSON.stringify({ heartbeat: { intervalMs: 'often' } }),
      );
      const bad = capture();
      expect(await main(['serve', '--insecure'], { io: bad, env: {}, cwd: dir })).toBe(2);
      expect(bad.err[0]).toMatch(
        /^tether serve: tether\.config\.json: heartbeat\.intervalMs: expected milliseconds/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('exits 1 when the port is taken', async () => {
    const first = await serve(
      {
        port: 0,
        host: HOST,
        store: 'memory',
      },
      capture(),
    );
    handles.push(first);
    const io = capture();
    expect(
      await main(
        ['serve', '--port', String(first.port), '--host', HOST, '--store', 'memory', '--insecure'],
        { io, env: {} },
      ),
    ).toBe(1);
    expect(io.err[0]).toContain('cannot start');
  });
});

describe('shutdown signals', () => {
  it('drains on the first SIGINT and forces an exit on the second', async () => {
    const signals = new FakeSignals();
    const io = capture();
    let closes = 0;
    const exits: number[] = [];
    const dispose = handleShutdownSignals(
      {
        close: async () => {
          closes += 1;
        },
      },
      signals,
      io,
      (code) => exits.push(code),
    );
    signals.send('SIGINT');
    expect(closes).toBe(1);
    expect(exits).toEqual([]);
    signals.send('SIGTERM');
    expect(exits).toEqual([1]);
    dispose();
    expect(signals.listenerCount('SIGINT') + signals.listenerCount('SIGTERM')).toBe(0);
  });

  it('answers /readyz with 503 while the drain runs (and /healthz stays 200: the process is alive)', async () => {
    const handle = await serve(
      {
        port: 0,
        host: HOST,
        store: 'memory',
      },
      capture(),
    );
    handles.push(handle);
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const endpoint = handle.tether.endpoints.get('/ws');
    endpoint?.handle('wait', async () => {
      await gate;
      return 'done';
    });
    const client = await rawClient(`ws://${HOST}:${handle.port}/ws`);
    client.ws.send(JSON.stringify({ t: 'req', id: 1, method: 'wait' }));
    await waitFor(() => (endpoint?.stats().inFlight ?? 0) > 0, { message: 'request in flight' });
    const closing = handle.close({ drainTimeoutMs: 5000 });
    const ready = await fetch(`${handle.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({
      status: 'not ready',
      checks: { server: 'draining', store: 'ok' },
    });
    const health = await fetch(`${handle.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok', state: 'draining' });
    release();
    await withTimeout(closing, 5000, 'drained');
    expect(client.frames.find((f) => f.t === 'res')).toMatchObject({ ok: true, data: 'done' });
  });
});

const bin = fileURLToPath(new URL('../bin/tether.js', import.meta.url));
const built = existsSync(fileURLToPath(new URL('../dist/index.js', import.meta.url)));

describe.skipIf(!built)('the built command (packages/cli/dist present)', () => {
  it('starts, prints its address, and exits 0 on SIGTERM', async () => {
    const args = [bin, 'serve', '--port', '0', '--host', HOST, '--store', 'memory', '--insecure'];
    const child = spawn(process.execPath, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, VITEST: '' },
    });
    try {
      let out = '';
      child.stdout.setEncoding('utf8');
      const listening = new Promise<string>((resolve) => {
        child.stdout.on('data', (chunk: string) => {
          out += chunk;
          const match = /tether listening on (http:\/\/\S+) \(ws: \/ws\)/.exec(out);
          if (match?.[1]) resolve(match[1]);
        });
      });
      const url = await withTimeout(listening, 10_000, 'listening line');
      const health = await fetch(`${url}/healthz`);
      expect(health.status).toBe(200);
      expect(await health.json()).toMatchObject({ status: 'ok' });
      const exit = new Promise<number | null>((resolve) =>
        child.on('exit', (code) => resolve(code)),
      );
      child.kill('SIGTERM');
      expect(await withTimeout(exit, 10_000, 'exit')).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
