/**
 * Issue 9, finding 9 (low findings) on the hub: HTTP deadlines.
 */
import { connect } from 'node:net';
import { withTimeout } from '@tether/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { HUB_DEFAULTS } from '../src/index.js';
import { closeHubs, HOST, startTestHub } from './hub-helpers.js';

afterEach(async () => {
  await closeHubs();
});

describe('hub HTTP deadlines', () => {
  it('defaults to at most 10 s for request headers and whole requests', () => {
    expect(HUB_DEFAULTS.headersTimeoutMs).toBeLessThanOrEqual(10_000);
    expect(HUB_DEFAULTS.requestTimeoutMs).toBeLessThanOrEqual(10_000);
  });

  it('cuts a client that sends partial headers within limits.headersTimeoutMs, with 408', async () => {
    const { hub } = await startTestHub({
      limits: { headersTimeoutMs: 300, requestTimeoutMs: 300 },
    });
    const socket = connect(hub.port, HOST);
    try {
      let received = '';
      socket.on('data', (chunk) => {
        received += chunk.toString('latin1');
      });
      socket.on('error', () => {});
      const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
      socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ');
      // 300 ms plus one check interval (75 ms); Node's defaults took ~70 s.
      await withTimeout(closed, 5_000, 'the hub cutting a partial request');
      expect(received).toMatch(/^HTTP\/1\.1 408 /);
    } finally {
      socket.destroy();
    }
  });
});
