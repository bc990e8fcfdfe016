import { OptionError } from '@tether/common';
import { describe, expect, it } from 'vitest';
import { FinalCloseError, ReconnectExhaustedError, TetherClient } from '../src/index.js';
import { fakeWebSocketFactory } from './helpers/fake-websocket.js';
import { harness } from './helpers/harness.js';

describe('options', () => {
  it('names the option in every construction error', () => {
    const { WebSocket } = fakeWebSocketFactory();
    const bad = (options: object, option: string) => {
      let error: unknown;
      try {
        new TetherClient('ws://x/ws', { WebSocket, autoConnect: false, ...options });
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(OptionError);
      expect((error as OptionError).option).toBe(option);
      expect((error as Error).message).toContain(option);
    };
    bad({ minReconnectDelayMs: -1 }, 'minReconnectDelayMs');
    bad({ minReconnectDelayMs: 1000, maxReconnectDelayMs: 10 }, 'maxReconnectDelayMs');
    bad({ maxAttempts: 0 }, 'maxAttempts');
    bad({ breakerThreshold: 1.5 }, 'breakerThreshold');
    bad({ authVia: 'cookie' }, 'authVia');
    bad({ token: 42 }, 'token');
    bad({ reconnectDelay: 'fast' }, 'reconnectDelay');
    bad({ retries: 3 }, 'options.retries');
    expect(() => new TetherClient('ftp://x', { WebSocket })).toThrow(/url/);
  });

  it('throws an OptionError naming WebSocket when no implementation exists', () => {
    // Node 20 has no global WebSocket.
    const saved = (globalThis as { WebSocket?: unknown }).WebSocket;
    (globalThis as { WebSocket?: unknown }).WebSocket = undefined;
    try {
      expect(() => new TetherClient('ws://x/ws')).toThrow(OptionError);
      expect(() => new TetherClient('ws://x/ws')).toThrow(/WebSocket/);
    } finally {
      (globalThis as { WebSocket?: unknown }).WebSocket = saved;
    }
  });

  it('accepts maxAttempts: Infinity and 0 for numbers where 0 is meaningful', () => {
    const { WebSocket } = fakeWebSocketFactory();
    const c = new TetherClient('http://x/ws', {
      WebSocket,
      autoConnect: false,
      maxAttempts: Number.POSITIVE_INFINITY,
      minReconnectDelayMs: 0,
      breakerThreshold: 0,
      ackDelayMs: 0,
    });
    expect(c.url).toBe('ws://x/ws');
    expect(c.state).toBe('idle');
  });
});

describe('state machine', () => {
  it('goes idle -> connecting -> open and emits every change with from/to', async () => {
    const h = harness({ autoConnect: false });
    expect(h.client.state).toBe('idle');
    const connected = h.client.connect();
    expect(h.client.state).toBe('connecting');
    const socket = h.ws.last();
    expect(socket.protocols[0]).toBe('tether.v1');
    socket.open();
    expect(socket.framesOfType('hello')).toEqual([
      { t: 'hello', v: 1, appPings: false, pubs: true },
    ]);
    expect(h.client.state).toBe('connecting');
    socket.accept();
    await connected;
    expect(h.of('state').map(({ from, to }) => `${from}->${to}`)).toEqual([
      'idle->connecting',
      'connecting->open',
    ]);
    expect(h.of('open')[0]).toMatchObject({ resumed: false, attempt: 1 });
    await h.client.close();
  });

  it('ignores every event from an older socket', async () => {
    const h = harness({ random: () => 0 });
    const first = h.ws.last();
    first.accept();
    first.drop();
    h.clock.advance(500);
    const second = h.ws.last();
    expect(second).not.toBe(first);
    second.accept();
    const before = h.seen.length;
    // The old socket comes back to life: nothing may happen.
    first.receive({ t: 'msg', data: 'stale' });
    first.receive({ t: 'goodbye', code: 4001, reason: 'stale' });
    first.serverClose(4001);
    first.emit('open', {});
    expect(h.seen.length).toBe(before);
    expect(h.client.state).toBe('open');
    await h.client.close();
  });
});

describe('reconnect backoff', () => {
  it('uses full jitter between 0.5 s and the doubling ceiling, capped at 30 s', () => {
    const h = harness({ random: () => 1, breakerThreshold: 0 });
    for (let i = 0; i < 8; i++) {
      h.ws.last().drop();
      const retry = h.of('retry').at(-1);
      h.clock.advance(retry?.delayMs ?? 0);
    }
    expect(h.of('retry').map((r) => r.delayMs)).toEqual([
      1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000,
    ]);
    expect(h.of('retry').map((r) => r.attempt)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(h.of('retry').every((r) => r.kind === 'backoff')).toBe(true);
    void h.client.close();
  });

  it('with random 0 never waits less than the 0.5 s floor', () => {
    const h = harness({ random: () => 0, breakerThreshold: 0 });
    for (let i = 0; i < 4; i++) {
      h.ws.last().drop();
      h.clock.advance(499);
      const sockets = h.ws.sockets.length;
      h.clock.advance(1);
      expect(h.ws.sockets.length).toBe(sockets + 1);
    }
    void h.client.close();
  });

  it('resets the attempt counter only after the minimum uptime', () => {
    const h = harness({ random: () => 1, minUptimeMs: 5000, breakerThreshold: 0 });
    h.ws.last().accept();
    h.ws.last().drop(); // open for 0 ms: not stable
    h.clock.advance(1000);
    h.ws.last().accept();
    h.clock.advance(4999);
    h.ws.last().drop(); // still not stable
    expect(h.of('retry').map((r) => r.attempt)).toEqual([1, 2]);
    h.clock.advance(2000);
    h.ws.last().accept();
    h.clock.advance(5000);
    expect(h.client.stats().retries).toBe(0);
    h.ws.last().drop();
    expect(h.of('retry').map((r) => r.attempt)).toEqual([1, 2, 1]);
    expect(h.of('retry').at(-1)?.delayMs).toBe(1000);
    void h.client.close();
  });

  it('asks a user-supplied delay function, which sees the suggestion', () => {
    const contexts: unknown[] = [];
    const h = harness({
      random: () => 1,
      reconnectDelay: (ctx) => {
        contexts.push(ctx);
        return 42;
      },
    });
    h.ws.last().serverClose(1011);
    expect(contexts).toEqual([
      { attempt: 1, closeCode: 1011, retryAfterMs: undefined, suggestedDelayMs: 1000 },
    ]);
    expect(h.of('retry')[0]).toMatchObject({ delayMs: 42, kind: 'custom' });
    h.clock.advance(41);
    expect(h.ws.sockets.length).toBe(1);
    h.clock.advance(1);
    expect(h.ws.sockets.length).toBe(2);
    void h.client.close();
  });

  it('stops after maxAttempts reconnects in a row with RECONNECT_EXHAUSTED', () => {
    const h = harness({ random: () => 0, maxAttempts: 3, breakerThreshold: 0 });
    for (let i = 0; i < 3; i++) {
      h.ws.last().drop();
      h.clock.advance(500);
    }
    expect(h.ws.sockets.length).toBe(4);
    h.ws.last().drop();
    expect(h.client.state).toBe('closed');
    const error = h.of('error').at(-1)?.error;
    expect(error).toBeInstanceOf(ReconnectExhaustedError);
    expect(error?.code).toBe('RECONNECT_EXHAUSTED');
    expect(h.of('close').at(-1)?.willReconnect).toBe(false);
    h.clock.advance(60_000);
    expect(h.ws.sockets.length).toBe(4);
    expect(h.clock.pending).toBe(0);
  });

  it('abandons an attempt after the connect timeout (4012) and retries', () => {
    const h = harness({ connectTimeoutMs: 3000, random: () => 0 });
    h.ws.last().open(); // upgraded, but no welcome ever comes
    h.clock.advance(3000);
    expect(h.of('close')[0]).toMatchObject({ code: 4012, willReconnect: true });
    expect(h.client.state).toBe('reconnecting');
    h.clock.advance(500);
    expect(h.ws.sockets.length).toBe(2);
    void h.client.close();
  });
});

describe('unreachable', () => {
  it('reports handshakes that never open (browsers hide the HTTP status) once per streak, with a hint', () => {
    const h = harness({ random: () => 0, breakerThreshold: 0, unreachableAfter: 3 });
    const failAttempt = (): void => {
      const before = h.ws.sockets.length;
      h.ws.last().drop(); // a refused upgrade looks like this in a browser: 1006, no open
      h.clock.advance(500); // the retry (the jitter floor), well before any connect timeout
      expect(h.ws.sockets.length).toBe(before + 1);
    };
    failAttempt();
    failAttempt();
    expect(h.of('unreachable')).toEqual([]);
    failAttempt();
    expect(h.of('unreachable')).toHaveLength(1);
    expect(h.of('unreachable')[0]).toMatchObject({
      type: 'unreachable',
      attempts: 3,
      lastCode: 1006,
      hint: expect.stringMatching(/never opened.*404.*403/s),
    });
    failAttempt();
    failAttempt();
    expect(h.of('unreachable')).toHaveLength(1);
    // A socket that opens ends the streak; the next streak is reported again.
    h.ws.last().open();
    h.ws.last().accept();
    expect(h.client.state).toBe('open');
    h.ws.last().drop();
    h.clock.advance(500);
    for (let i = 0; i < 3; i++) failAttempt();
    expect(h.of('unreachable')).toHaveLength(2);
    void h.client.close();
  });

  it('is not reported for attempts that open and then fail (no welcome in time)', () => {
    const h = harness({ random: () => 0, breakerThreshold: 0, connectTimeoutMs: 1000 });
    for (let i = 0; i < 5; i++) {
      const before = h.ws.sockets.length;
      h.ws.last().open();
      h.clock.advance(1000); // upgraded, but no welcome: 4012
      h.clock.advance(500); // the retry (the jitter floor)
      expect(h.ws.sockets.length).toBe(before + 1);
    }
    expect(h.of('close').length).toBeGreaterThanOrEqual(5);
    expect(h.of('unreachable')).toEqual([]);
    void h.client.close();
  });
});

describe('close codes', () => {
  it.each([
    [4001, 'UNAUTHORIZED', 're-authenticate'],
    [4003, 'FORBIDDEN', 'check-permissions'],
    [1002, 'PROTOCOL_ERROR', 'upgrade-client'],
    [4011, 'UNSUPPORTED_VERSION', 'upgrade-client'],
    [4013, 'SESSION_EVICTED', 'session-evicted'],
  ])('%i is final: stops and raises a typed error (%s)', (code, name, recovery) => {
    const h = harness();
    h.ws.last().accept();
    h.ws.last().serverClose(code, 'nope');
    expect(h.client.state).toBe('closed');
    const error = h.of('error').at(-1)?.error as FinalCloseError;
    expect(error).toBeInstanceOf(FinalCloseError);
    expect(error.code).toBe(name);
    expect(error.recovery).toBe(recovery);
    expect(error.retryable).toBe(false);
    expect(error.closeCode).toBe(code);
    expect(error.hint.length).toBeGreaterThan(0);
    expect(h.of('close').at(-1)).toMatchObject({ code, willReconnect: false });
    h.clock.advance(3_600_000);
    expect(h.ws.sockets.length).toBe(1);
    expect(h.clock.pending).toBe(0);
  });

  it('a normal close (1000) from the server stops without an error event', async () => {
    const h = harness();
    const waiting = h.client.connect();
    h.ws.last().accept();
    await waiting;
    h.ws.last().serverClose(1000, 'done');
    expect(h.client.state).toBe('closed');
    expect(h.of('state').at(-1)?.reason).toBe('NORMAL');
    expect(h.of('error')).toEqual([]);
    await expect(h.client.request('x')).rejects.toMatchObject({ code: 'NORMAL', closeCode: 1000 });
  });

  it('reconnects after 1006, 1011, 4008 and unknown codes', () => {
    for (const code of [1006, 1011, 4008, 4321, 1001]) {
      const h = harness();
      h.ws.last().accept();
      h.ws.last().serverClose(code);
      expect(h.client.state).toBe('reconnecting');
      void h.client.close();
    }
  });

  it('reconnects at once after 4009 (slow consumer)', () => {
    const h = harness();
    h.ws.last().accept();
    h.ws.last().serverClose(4009);
    expect(h.of('retry')[0]).toMatchObject({ delayMs: 0, kind: 'immediate' });
    h.clock.advance(0);
    expect(h.ws.sockets.length).toBe(2);
    void h.client.close();
  });

  it('honours goodbye.retryAfter plus jitter for the close that follows', () => {
    const h = harness({ random: () => 0.5 });
    h.ws.last().accept();
    h.ws.last().receive({ t: 'goodbye', code: 1012, reason: 'restart', retryAfter: 4000 });
    expect(h.of('goodbye')[0]).toMatchObject({ code: 1012, retryAfter: 4000 });
    h.ws.last().serverClose(1012, 'restart');
    // uniform in [4000, 4000 + max(500, 4000 * 1)] -> 0.5 => 6000
    expect(h.of('retry')[0]).toMatchObject({
      kind: 'hint',
      delayMs: 6000,
      retryAfterMs: 4000,
      closeCode: 1012,
    });
    void h.client.close();
  });

  it('takes the goodbye code when the socket reports no status (1005/1006)', () => {
    const h = harness();
    h.ws.last().accept();
    h.ws.last().receive({ t: 'goodbye', code: 4001, reason: 'token expired' });
    h.ws.last().drop();
    expect(h.client.state).toBe('closed');
    expect(h.of('error').at(-1)?.error.code).toBe('UNAUTHORIZED');
  });

  it('reads a retry-after hint from the close reason of a server without goodbye', () => {
    const h = harness({ random: () => 0 });
    h.ws.last().accept();
    h.ws.last().serverClose(1013, 'overloaded; retry-after=2500');
    expect(h.of('retry')[0]).toMatchObject({ kind: 'hint', delayMs: 2500 });
    void h.client.close();
  });

  it('connect() after a final close starts again with fresh counters', async () => {
    const h = harness();
    h.ws.last().serverClose(4001);
    expect(h.client.state).toBe('closed');
    const again = h.client.connect();
    h.ws.last().accept();
    await again;
    expect(h.client.state).toBe('open');
    await h.client.close();
  });
});

describe('circuit breaker', () => {
  it('opens after 5 failed attempts, probes once after the cool-down, and closes on success', () => {
    const h = harness({ random: () => 0, breakerThreshold: 5, breakerCooldownMs: 60_000 });
    for (let i = 0; i < 4; i++) {
      h.ws.last().drop();
      h.clock.advance(500);
    }
    expect(h.client.stats().breaker.state).toBe('closed');
    h.ws.last().drop(); // 5th failure
    expect(h.client.state).toBe('circuit-open');
    const snapshot = h.client.stats().breaker;
    expect(snapshot).toMatchObject({ state: 'open', failures: 5, opens: 1 });
    expect(snapshot.probeAt! - snapshot.openedAt!).toBe(60_000);
    h.clock.advance(59_999);
    expect(h.ws.sockets.length).toBe(5);
    h.clock.advance(1);
    expect(h.ws.sockets.length).toBe(6);
    expect(h.client.stats().breaker.state).toBe('half-open');
    // The probe fails: open again for another cool-down.
    h.ws.last().drop();
    expect(h.client.state).toBe('circuit-open');
    expect(h.client.stats().breaker.opens).toBe(2);
    h.clock.advance(60_000);
    h.ws.last().accept();
    expect(h.client.stats().breaker.state).toBe('closed');
    h.clock.advance(5000);
    expect(h.client.stats().breaker.failures).toBe(0);
    expect(h.of('breaker').map((b) => b.state)).toContain('half-open');
    expect(h.states()).toEqual(expect.arrayContaining(['circuit-open', 'connecting', 'open']));
    void h.client.close();
  });

  it('an attempt the server answered with a retry hint is no strike: a restart under load does not open it', () => {
    const h = harness({ random: () => 0, breakerThreshold: 2, breakerCooldownMs: 60_000 });
    // A server shedding load: each attempt refused with a hint (HTTP 503 + Retry-After
    // seen as 1012 + retry-after; a goodbye's retryAfter is the same).
    for (let i = 0; i < 5; i++) {
      h.ws.last().serverClose(1012, 'overloaded; retry-after=1000');
      expect(h.client.state).toBe('reconnecting');
      h.clock.advance(1000);
    }
    expect(h.client.stats().breaker).toMatchObject({ state: 'closed', failures: 0, opens: 0 });
    expect(h.of('retry').every((r) => r.kind === 'hint')).toBe(true);
    // Attempts with no answer still count: the server is down.
    h.ws.last().drop();
    h.clock.advance(500);
    h.ws.last().drop();
    expect(h.client.state).toBe('circuit-open');
    void h.client.close();
  });

  it('a probe that connects but drops before the minimum uptime reopens the circuit', () => {
    const h = harness({ random: () => 0, breakerThreshold: 2, breakerCooldownMs: 1000 });
    h.ws.last().drop();
    h.clock.advance(500);
    h.ws.last().drop();
    expect(h.client.state).toBe('circuit-open');
    h.clock.advance(1000);
    h.ws.last().accept();
    expect(h.client.stats().breaker.state).toBe('closed');
    h.clock.advance(100);
    h.ws.last().drop();
    expect(h.client.state).toBe('circuit-open');
    void h.client.close();
  });
});

describe('close()', () => {
  it('cancels a scheduled reconnect, every timer and listener, and leaves no socket', async () => {
    const h = harness({ random: () => 0.5 });
    h.ws.last().accept();
    void h.client.send('queued');
    void h.client.request('slow', null);
    h.ws.last().drop();
    expect(h.client.state).toBe('reconnecting');
    expect(h.clock.pending).toBeGreaterThan(0);
    expect(h.env.listenerCount).toBe(3);
    await h.client.close();
    expect(h.client.state).toBe('closed');
    expect(h.clock.pending).toBe(0);
    expect(h.env.listenerCount).toBe(0);
    h.clock.advance(3_600_000);
    expect(h.ws.sockets.length).toBe(1);
    expect(h.ws.sockets.every((s) => s.readyState === 3)).toBe(true);
  });

  it('closes an open socket with the close handshake and rejects what is pending', async () => {
    const h = harness();
    const socket = h.ws.last();
    socket.accept();
    const sent = h.client.send({ n: 1 });
    const reply = h.client.request('echo', 1);
    await h.client.close(1000, 'bye');
    expect(socket.closeCalls[0]).toEqual({ code: 1000, reason: 'bye' });
    await expect(sent).rejects.toMatchObject({ code: 'CLIENT_CLOSED' });
    await expect(reply).rejects.toMatchObject({ code: 'CLIENT_CLOSED' });
    await expect(h.client.send('late')).rejects.toMatchObject({ code: 'CLIENT_CLOSED' });
    expect(h.of('close').at(-1)).toMatchObject({ code: 4999, willReconnect: false });
    expect(h.clock.pending).toBe(0);
    for (const type of ['open', 'message', 'close'] as const)
      expect(socket.listenerCount(type)).toBe(0);
  });

  it('cuts a socket whose close handshake never completes after closeTimeoutMs', async () => {
    const h = harness({ closeTimeoutMs: 1000 });
    const socket = h.ws.last();
    socket.accept();
    socket.close = (code, reason) => {
      socket.closeCalls.push({ code, reason });
      socket.readyState = 2; // the peer never answers
    };
    const closing = h.client.close();
    expect(h.clock.pending).toBe(1);
    h.clock.advance(1000);
    await closing;
    expect(h.clock.pending).toBe(0);
    // A browser socket given up on may stay CLOSING for long: nothing of the closed
    // client may wait on it (the wait's close listener held the client alive).
    expect(socket.listenerCount('close')).toBe(0);
  });

  it('rejects connect() waiters when closed, and a close() from a listener stops everything', async () => {
    const h = harness({ autoConnect: false });
    const waiting = h.client.connect();
    h.client.on('state', ({ to }) => {
      if (to === 'reconnecting') void h.client.close();
    });
    h.ws.last().drop();
    await expect(waiting).rejects.toMatchObject({ code: 'CLIENT_CLOSED' });
    expect(h.client.state).toBe('closed');
    expect(h.clock.pending).toBe(0);
  });
});

describe('autoConnect', () => {
  it('starts in a microtask, so listeners added after construction see the first change', async () => {
    const { WebSocket, sockets } = fakeWebSocketFactory();
    const client = new TetherClient('ws://x/ws', {
      WebSocket,
      token: () => {
        throw new Error('no token yet');
      },
      breakerThreshold: 0,
    });
    const seen: string[] = [];
    client.on('state', ({ from, to }) => seen.push(`${from}->${to}`));
    client.on('error', ({ error }) => seen.push(error.code));
    expect(sockets).toHaveLength(0);
    await Promise.resolve();
    expect(seen).toEqual(['idle->connecting', 'TOKEN_PROVIDER_FAILED', 'connecting->reconnecting']);
    await client.close();
  });

  it('close() before the microtask means no attempt at all', async () => {
    const { WebSocket, sockets } = fakeWebSocketFactory();
    const client = new TetherClient('ws://x/ws', { WebSocket });
    await client.close();
    await Promise.resolve();
    expect(sockets).toHaveLength(0);
    expect(client.state).toBe('closed');
  });
});
