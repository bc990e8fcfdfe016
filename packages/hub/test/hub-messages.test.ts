/**
 * Issue 11, first finding: `tether serve` has no message handler of its own. A client's
 * `send()` to it must reject with NO_HANDLER (it used to stay unacknowledged and block the
 * session: the README's `await client.send(...)` never resolved), and a reliable request
 * queued behind it must get its answer, not a timeout.
 */
import { TetherClient } from '@tether/client';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { closeHubs, HOST, startTestHub } from './hub-helpers.js';

const clients: TetherClient[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await closeHubs();
});

describe('a message the hub does not handle', () => {
  it('rejects send() with NO_HANDLER and lets the session go on', async () => {
    const { hub } = await startTestHub();
    const client = new TetherClient(`ws://${HOST}:${hub.port}/ws`, { WebSocket });
    clients.push(client);
    await client.connect();
    const sent = client.send({ text: 'hello' });
    const asked = client.request('nothing.here', null, { reliable: true, timeoutMs: 5_000 });
    await expect(sent).rejects.toMatchObject({ code: 'NO_HANDLER', final: true });
    await expect(asked).rejects.toMatchObject({ name: 'ServerError', code: 'NO_HANDLER' });
    await expect(client.send({ text: 'again' })).rejects.toMatchObject({ code: 'NO_HANDLER' });
    expect(client.stats().queued).toBe(0);
  });
});
