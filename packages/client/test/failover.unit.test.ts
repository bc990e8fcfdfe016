/**
 * Failover without a load balancer, on a fake socket and a manual clock: which URL each
 * attempt goes to, when it goes at once and when the backoff applies, what carries over
 * (the session), and how the `url` option is validated. The real servers are in
 * failover.test.ts.
 */

import { ManualClock, OptionError } from '@tether/common';
import { describe, expect, it } from 'vitest';
import {
  type ClientEventMap,
  TetherClient,
  type TetherClientOptions,
  type UrlContext,
  type UrlSource,
} from '../src/index.js';
import { fakeWebSocketFactory } from './helpers/fake-websocket.js';
import { TestEnvironment } from './helpers/test-environment.js';

const A = 'ws://a.test/ws';
const B = 'ws://b.test/ws';
const C = 'ws://c.test/ws';

function setup(url: UrlSource, options: TetherClientOptions = {}) {
  const clock = new ManualClock();
  const ws = fakeWebSocketFactory();
  const client = new TetherClient(url, {
    WebSocket: ws.WebSocket,
    clock,
    environment: new TestEnvironment(),
    autoConnect: false,
    random: () => 0.5,
    ...options,
  });
  const record = <K extends keyof ClientEventMap>(name: K): ClientEventMap[K][] => {
    const seen: ClientEventMap[K][] = [];
    client.on(name, (e) => seen.push(e));
    return seen;
  };
  const flush = async (): Promise<void> => {
    for (let i = 0; i < 5; i++) await Promise.resolve();
  };
  return { client, clock, ws, record, flush, urlsTried: () => ws.sockets.map((s) => s.url) };
}

describe('several URLs', () => {
  it('a dead node: the next attempt goes at once to the next URL and resumes the session there', async () => {
    const t = setup([A, B, C]);
    const failovers = t.record('failover');
    const retries = t.record('retry');
    void t.client.connect();
    expect(t.client.url).toBe(A);
    t.ws.last().accept({ sid: 's1', token: 'rt1' });
    t.ws.last().drop();
    // No timer to wait for: the retry is due at once.
    t.clock.advance(0);
    expect(t.urlsTried()).toEqual([A, B]);
    expect(retries.map((r) => [r.kind, r.delayMs])).toEqual([['failover', 0]]);
    expect(failovers).toEqual([
      { type: 'failover', from: A, to: B, attempt: 2, closeCode: 1006, reason: '' },
    ]);
    t.ws.last().open();
    expect(t.ws.last().framesOfType('hello')[0]?.resume).toEqual({
      sid: 's1',
      token: 'rt1',
      seq: 0,
    });
    t.ws.last().accept({ sid: 's1', resumed: true });
    expect(t.client.state).toBe('open');
    expect(t.client.url).toBe(B);
    expect(t.client.stats().url).toBe(B);
    await t.client.close();
  });

  it('every URL of a round at once, then the backoff; a server hint is the old node’s', async () => {
    const t = setup([A, B, C], { minReconnectDelayMs: 100, maxReconnectDelayMs: 10_000 });
    const retries = t.record('retry');
    void t.client.connect();
    // A refuses with 503 Retry-After (1012 with a hint): B is tried at once anyway.
    t.ws.last().serverClose(1012, 'retry-after=30000');
    t.clock.advance(0);
    t.ws.last().serverClose(1006);
    t.clock.advance(0);
    t.ws.last().serverClose(1006);
    // The round failed: the backoff (first wait: 100-200 ms; random 0.5 -> 150).
    expect(retries.map((r) => [r.kind, r.delayMs])).toEqual([
      ['failover', 0],
      ['failover', 0],
      ['backoff', 150],
    ]);
    t.clock.advance(149);
    expect(t.urlsTried()).toEqual([A, B, C]);
    t.clock.advance(1);
    expect(t.urlsTried()).toEqual([A, B, C, A]);
    // The next round again goes through at once, and its wait has grown (100-400 ms).
    t.ws.last().serverClose(1006);
    t.clock.advance(0);
    t.ws.last().serverClose(1006);
    t.clock.advance(0);
    t.ws.last().serverClose(1006);
    expect(retries.slice(3).map((r) => [r.kind, r.delayMs])).toEqual([
      ['failover', 0],
      ['failover', 0],
      ['backoff', 250],
    ]);
    expect(t.urlsTried()).toEqual([A, B, C, A, B, C]);
    await t.client.close();
  });

  it('nodes that accept and drop at once still meet the backoff (a round ends only when stable)', async () => {
    const t = setup([A, B], { minReconnectDelayMs: 100, minUptimeMs: 5000 });
    const retries = t.record('retry');
    void t.client.connect();
    for (let i = 0; i < 4; i++) {
      t.ws.last().accept();
      t.ws.last().drop();
      t.clock.advance(retries.at(-1)?.delayMs ?? 0);
    }
    expect(retries.map((r) => r.kind)).toEqual(['failover', 'backoff', 'failover', 'backoff']);
    // Stable on B: the next death moves on at once again.
    t.ws.last().accept();
    t.clock.advance(5000);
    t.ws.last().drop();
    expect(retries.at(-1)?.kind).toBe('failover');
    await t.client.close();
  });

  it('codes about this client, not the node (4009, 4002, 1008, 1009), keep the URL', async () => {
    const t = setup([A, B]);
    const retries = t.record('retry');
    void t.client.connect();
    for (const code of [4009, 4002, 1008, 1009]) {
      t.ws.last().accept();
      t.ws.last().serverClose(code);
      t.clock.advance(retries.at(-1)?.delayMs ?? 0);
    }
    expect(t.urlsTried()).toEqual([A, A, A, A, A]);
    await t.client.close();
  });

  it('a final close code stops as with one URL', async () => {
    const t = setup([A, B]);
    const errors = t.record('error');
    void t.client.connect().catch(() => {});
    t.ws.last().serverClose(4001);
    t.clock.advance(60_000);
    expect(t.client.state).toBe('closed');
    expect(t.urlsTried()).toEqual([A]);
    expect(errors.map((e) => e.error.code)).toEqual(['UNAUTHORIZED']);
  });

  it('the unreachable event names the URL that was tried', async () => {
    const t = setup([A, B], { unreachableAfter: 2, minReconnectDelayMs: 0 });
    const unreachable = t.record('unreachable');
    void t.client.connect();
    t.ws.last().drop();
    t.clock.advance(0);
    t.ws.last().drop();
    expect(unreachable.map((u) => u.url)).toEqual([B]);
    await t.client.close();
  });
});

describe('a url function', () => {
  it('is asked before every attempt, with what ended the previous one', async () => {
    const contexts: UrlContext[] = [];
    const t = setup(
      async (ctx) => {
        contexts.push(ctx);
        return ctx.attempt === 1 ? A : 'http://b.test/ws';
      },
      { minReconnectDelayMs: 10, maxReconnectDelayMs: 10 },
    );
    const failovers = t.record('failover');
    const retries = t.record('retry');
    expect(t.client.url).toBeUndefined();
    void t.client.connect();
    await t.flush();
    t.ws.last().accept({ sid: 's1' });
    t.ws.last().serverClose(1001, 'going away');
    t.clock.advance(10);
    await t.flush();
    expect(t.urlsTried()).toEqual([A, B]);
    expect(contexts).toEqual([
      { attempt: 1, lastUrl: undefined, closeCode: undefined, reason: undefined },
      { attempt: 2, lastUrl: A, closeCode: 1001, reason: 'going away' },
    ]);
    // A function picks the URL; the backoff applies to each attempt.
    expect(retries.map((r) => r.kind)).toEqual(['backoff']);
    expect(failovers.map((f) => [f.from, f.to])).toEqual([[A, B]]);
    t.ws.last().open();
    expect(t.ws.last().framesOfType('hello')[0]?.resume).toMatchObject({ sid: 's1' });
    await t.client.close();
  });

  it('a function that throws, rejects or returns a bad URL fails the attempt (URL_PROVIDER_FAILED), retried', async () => {
    const answers: Array<() => string | Promise<string>> = [
      () => {
        throw new Error('no nodes known');
      },
      () => Promise.reject(new Error('discovery down')),
      () => 'ftp://a.test/',
      () => A,
    ];
    const t = setup(() => (answers.shift() as () => string)(), { minReconnectDelayMs: 10 });
    const errors = t.record('error');
    const retries = t.record('retry');
    void t.client.connect();
    for (let i = 0; i < 3; i++) {
      await t.flush();
      t.clock.advance(retries.at(-1)?.delayMs ?? 0);
    }
    await t.flush();
    expect(errors.map((e) => e.error.code)).toEqual([
      'URL_PROVIDER_FAILED',
      'URL_PROVIDER_FAILED',
      'URL_PROVIDER_FAILED',
    ]);
    expect(errors[1]?.error.message).toContain('discovery down');
    expect(errors[2]?.error.message).toContain('ftp:');
    expect(t.urlsTried()).toEqual([A]);
    t.ws.last().accept();
    expect(t.client.state).toBe('open');
    await t.client.close();
  });
});

describe('validation', () => {
  const construct =
    (url: UrlSource, options: TetherClientOptions = {}) =>
    () =>
      new TetherClient(url, {
        WebSocket: fakeWebSocketFactory().WebSocket,
        autoConnect: false,
        ...options,
      });

  it('names the option: an empty list, a bad URL in a list, a bad single URL', () => {
    expect(construct([])).toThrow(OptionError);
    expect(construct([])).toThrow(/^url: expected at least one URL/);
    expect(construct([A, 'ftp://b.test/'])).toThrow(
      /^url\[1\]: expected a ws:, wss:, http: or https: URL/,
    );
    expect(construct([A, 'http://[bad'])).toThrow(/^url\[1\]: not a valid URL/);
    expect(construct('mailto:x@y.z')).toThrow(/^url: expected a ws:/);
    expect(construct(42 as unknown as string)).toThrow(/^url: not a valid URL/);
  });

  it('accepts http(s) URLs in a list and resolves them', () => {
    const client = construct(['http://a.test/ws', new URL('https://b.test/ws')])();
    expect(client.urls).toEqual([A, 'wss://b.test/ws']);
    expect(client.url).toBe(A);
  });

  it('maxMessageBytes: an integer of at least 1024, stated in hello', async () => {
    expect(construct(A, { maxMessageBytes: 1023 })).toThrow(
      /^maxMessageBytes: expected an integer >= 1024/,
    );
    expect(construct(A, { maxMessageBytes: 4096.5 })).toThrow(/^maxMessageBytes/);
    const stated = setup(A, { maxMessageBytes: 4096 });
    void stated.client.connect();
    stated.ws.last().open();
    expect(stated.ws.last().framesOfType('hello')[0]?.maxMessageBytes).toBe(4096);
    await stated.client.close();
    const silent = setup(A);
    void silent.client.connect();
    silent.ws.last().open();
    expect(silent.ws.last().framesOfType('hello')[0]).not.toHaveProperty('maxMessageBytes');
    await silent.client.close();
  });
});
