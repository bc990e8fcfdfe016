/**
 * Issue 9, finding 9 (low findings) on the hub: HTTP deadlines, and exiting on SIGTERM
 * when stdout is gone.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { getFreePort, receivedUntilClose, waitFor, withTimeout } from '@tether/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { HUB_DEFAULTS } from '../src/index.js';
import { closeHubs, HOST, startTestHub } from './hub-helpers.js';

afterEach(async () => {
  await closeHubs();
});

describe('hub HTTP deadlines', () => {
  it('defaults to at most 10 s for request headers and whole requests', () => {
    expect(HUB_DEFAULTS.limits.headersTimeoutMs).toBeLessThanOrEqual(10_000);
    expect(HUB_DEFAULTS.limits.requestTimeoutMs).toBeLessThanOrEqual(10_000);
  });

  it('cuts a client that sends partial headers within limits.headersTimeoutMs, with 408', async () => {
    const { hub } = await startTestHub({
      limits: { headersTimeoutMs: 300, requestTimeoutMs: 300 },
    });
    const socket = connect(hub.port, HOST);
    try {
      const closed = receivedUntilClose(socket);
      socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ');
      // 300 ms plus one check interval (75 ms); Node's defaults took ~70 s.
      const received = await withTimeout(closed, 5_000, 'the hub cutting a partial request');
      expect(received).toMatch(/^HTTP\/1\.1 408 /);
    } finally {
      socket.destroy();
    }
  });

  it('cuts a client that connects and sends nothing within limits.headersTimeoutMs, with 408', async () => {
    const { hub } = await startTestHub({
      limits: { headersTimeoutMs: 300, requestTimeoutMs: 300 },
    });
    const socket = connect(hub.port, HOST);
    try {
      const received = await withTimeout(
        receivedUntilClose(socket),
        5_000,
        'the hub cutting a socket that sent nothing',
      );
      expect(received).toMatch(/^HTTP\/1\.1 408 /);
    } finally {
      socket.destroy();
    }
  });
});

const bin = fileURLToPath(new URL('../../cli/bin/tether.js', import.meta.url));
const built = existsSync(fileURLToPath(new URL('../../cli/dist/index.js', import.meta.url)));

describe.skipIf(!built)('the built command with stdout gone', () => {
  it('serves and exits on SIGTERM when its stdout is a closed pipe', async () => {
    const port = await getFreePort(HOST);
    const args = [bin, 'serve', '--port', String(port), '--host', HOST, '--store', 'memory'];
    // The real logger (not the silent one of tests) writes JSON lines to stdout.
    const env: NodeJS.ProcessEnv = { ...process.env, TETHER_LOG_LEVEL: 'info' };
    delete env.VITEST;
    delete env.NODE_ENV;
    const child = spawn(process.execPath, [...args, '--insecure'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env,
    });
    // The reader is gone before the hub writes its first line (a log shipper that died,
    // `tether serve | head`): every write to stdout fails with EPIPE.
    child.stdout.destroy();
    try {
      let err = '';
      child.stderr.setEncoding('utf8');
      child.stderr.on('data', (chunk: string) => {
        err += chunk;
      });
      const exit = new Promise<number | null>((resolve) =>
        child.on('exit', (code) => resolve(code)),
      );
      await waitFor(
        async () => {
          // A hub whose event loop is stuck accepts the connection and never answers.
          const signal = AbortSignal.timeout(1_000);
          const answer = await fetch(`http://${HOST}:${port}/healthz`, { signal }).catch(
            () => undefined,
          );
          await answer?.arrayBuffer().catch(() => undefined);
          return answer?.ok;
        },
        { timeoutMs: 10_000, message: `the hub serving (stderr: ${err})` },
      );
      child.kill('SIGTERM');
      const code = await withTimeout(exit, 10_000, `exit after SIGTERM (stderr: ${err})`);
      expect(code).toBe(0);
      expect(err).toContain('tether: stopped');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
