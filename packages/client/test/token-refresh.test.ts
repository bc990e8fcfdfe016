/**
 * Issue 9, finding 8: the server asks an open connection for a fresh token (`refresh`);
 * the client answers with an `auth` frame holding what its token provider returns now.
 */
import { describe, expect, it } from 'vitest';
import { harness } from './helpers/harness.js';

const NOW = 1_700_000_000_000;

describe('token refresh', () => {
  it('answers refresh with an auth frame from the token provider', async () => {
    let calls = 0;
    const h = harness({ token: () => `token-${++calls}` });
    await h.flushMicrotasks();
    const socket = h.ws.last();
    socket.accept();
    expect(calls).toBe(1);
    socket.receive({ t: 'refresh', exp: NOW + 30_000, within: 30_000 });
    await h.flushMicrotasks();
    expect(calls).toBe(2);
    expect(socket.framesOfType('auth')).toEqual([{ t: 'auth', token: 'token-2' }]);
    socket.receive({ t: 'authed', exp: NOW + 90_000 });
    expect(h.of('error')).toEqual([]);
    await h.client.close();
  });

  it('an asynchronous provider answers too; a late answer for an older socket is dropped', async () => {
    const pending: Array<(token: string) => void> = [];
    const h = harness({
      token: () => new Promise<string>((resolve) => pending.push(resolve)),
    });
    await h.flushMicrotasks();
    (pending.shift() as (t: string) => void)('first');
    await h.flushMicrotasks();
    const first = h.ws.last();
    first.accept();
    first.receive({ t: 'refresh', exp: NOW + 30_000, within: 30_000 });
    await h.flushMicrotasks();
    expect(pending).toHaveLength(1);
    first.drop(); // the connection ends before the provider answers
    (pending.shift() as (t: string) => void)('late');
    await h.flushMicrotasks();
    expect(first.framesOfType('auth')).toEqual([]);
    await h.client.close();
  });

  it('a provider that fails raises TOKEN_PROVIDER_FAILED and keeps the connection', async () => {
    let calls = 0;
    const h = harness({
      token: () => {
        calls += 1;
        if (calls > 1) throw new Error('auth server down');
        return 'first';
      },
    });
    await h.flushMicrotasks();
    const socket = h.ws.last();
    socket.accept();
    socket.receive({ t: 'refresh', exp: NOW + 30_000, within: 30_000 });
    await h.flushMicrotasks();
    expect(h.of('error').map((e) => e.error.code)).toEqual(['TOKEN_PROVIDER_FAILED']);
    expect(socket.framesOfType('auth')).toEqual([]);
    expect(h.client.state).toBe('open');
    await h.client.close();
  });

  it('a fixed token has nothing fresher to send: no auth frame (the server closes with 4002)', async () => {
    const h = harness({ token: 'fixed' });
    await h.flushMicrotasks();
    const socket = h.ws.last();
    socket.accept();
    socket.receive({ t: 'refresh', exp: NOW + 30_000, within: 30_000 });
    await h.flushMicrotasks();
    expect(socket.framesOfType('auth')).toEqual([]);
    expect(h.of('error')).toEqual([]);
    await h.client.close();
  });

  it('reconnects after 4002 and presents a fresh token', async () => {
    let calls = 0;
    const h = harness({ token: () => `token-${++calls}` });
    await h.flushMicrotasks();
    h.ws.last().accept();
    h.ws.last().receive({ t: 'goodbye', code: 4002, reason: 'token expired' });
    h.ws.last().serverClose(4002, 'token expired');
    expect(h.client.state).toBe('reconnecting');
    h.clock.advance(1_000);
    await h.flushMicrotasks();
    expect(calls).toBe(2);
    expect(h.ws.sockets).toHaveLength(2);
    await h.client.close();
  });
});
