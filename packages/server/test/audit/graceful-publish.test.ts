/**
 * Found by the restart audit: a client publication accepted by the authorize hook while
 * the server drains (SIGTERM) was stored, but its `published` answer was dropped, because
 * the drain closed the connection as soon as the hook finished, before the store
 * committed the publication. A publisher that retries unanswered publications then
 * publishes it twice. A graceful shutdown must answer what it stored.
 */
import { waitFor, withTimeout } from '@tether/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { createStore } from '../../src/store/index.js';
import { AuditClient } from './audit-client.js';
import { HOST, PATH, startAuditServer } from './audit-server.js';
import { Resources } from './resources.js';

const resources = new Resources();
afterEach(() => resources.closeAll());

describe('audit: graceful shutdown and client publications', () => {
  it('a publication accepted during the drain is answered before the close', async () => {
    const TOPIC = 'audit.drain';
    const store = resources.add(createStore({ kind: 'memory' }), (s) => s.close());
    let hookCalled = false;
    let releaseHook: (allowed: boolean) => void = () => {};
    const server = await startAuditServer(
      {
        authorizePublish: () =>
          new Promise<boolean>((resolve) => {
            hookCalled = true;
            releaseHook = resolve;
          }),
      },
      { store },
    );
    let closing: Promise<void> | undefined;
    resources.add(server, (s) => closing ?? s.close());
    const client = resources.add(
      new AuditClient('publisher', `ws://${HOST}:${server.port}${PATH}`),
      (c) => c.close(),
    );
    await withTimeout(client.connected(), 5_000, 'connected');

    const outcome = client.client.publish(TOPIC, { n: 1 }).then(
      (position) => ({ answered: true, position }),
      (err: unknown) => ({ answered: false, error: String(err) }),
    );
    await waitFor(() => hookCalled, { message: 'the authorize hook runs' });
    closing = server.tether.close({ drainTimeoutMs: 5_000, retryAfterMs: 10, retrySpreadMs: 10 });
    releaseHook(true);

    const result = await withTimeout(outcome, 5_000, 'publish settled');
    const stored = await store.lastPublications(TOPIC, 1);
    expect(stored.publications.map((p) => p.offset)).toEqual([1]);
    expect(result).toEqual({ answered: true, position: { epoch: stored.epoch, offset: 1 } });
    await closing;
  });
});
