import { describe, expect, it } from 'vitest';
import {
  healthScore,
  type StateChange,
  type TetherMessageEvent,
  type WebSocketConstructor,
} from '../src/index.js';
import { harness } from './helpers/harness.js';

describe('async iterators', () => {
  it('messages() yields in order and ends when the client closes', async () => {
    const h = harness();
    h.ws.last().accept();
    const iterator = h.client.messages();
    for (const n of [1, 2, 3]) h.ws.last().receive({ t: 'msg', data: n });
    const got: unknown[] = [];
    const reading = (async () => {
      for await (const m of iterator) got.push(m.data);
    })();
    await h.flushMicrotasks();
    h.ws.last().receive({ t: 'msg', data: 4 });
    await h.client.close();
    await reading;
    expect(got).toEqual([1, 2, 3, 4]);
  });

  it('the client itself is async-iterable, and break detaches the reader', async () => {
    const h = harness();
    h.ws.last().accept();
    const iterator = h.client[Symbol.asyncIterator]();
    const reading = (async () => {
      for await (const m of iterator) if (m.data === 'stop') break;
    })();
    await h.flushMicrotasks();
    h.ws.last().receive({ t: 'msg', data: 'stop' });
    await reading;
    h.ws.last().receive({ t: 'msg', data: 'after' });
    await expect(iterator.next()).resolves.toEqual({ value: undefined, done: true });
    await h.client.close();
  });

  it('states() streams every change and ends after closed', async () => {
    const h = harness({ autoConnect: false });
    const changes: StateChange[] = [];
    const reading = (async () => {
      for await (const change of h.client.states()) changes.push(change);
    })();
    void h.client.connect();
    h.ws.last().accept();
    await h.client.close();
    await reading;
    expect(changes.map((c) => c.to)).toEqual(['connecting', 'open', 'closed']);
    expect(changes[2]?.reason).toBe('client close');
  });

  it('a reader that falls too far behind gets ITERATOR_OVERFLOW instead of unbounded memory', async () => {
    const h = harness({ iteratorBufferSize: 2 });
    h.ws.last().accept();
    const iterator = h.client.messages();
    for (const n of [1, 2, 3]) h.ws.last().receive({ t: 'msg', data: n });
    await expect(iterator.next()).rejects.toMatchObject({ code: 'ITERATOR_OVERFLOW' });
    await expect(iterator.next()).resolves.toEqual({ value: undefined, done: true });
    await h.client.close();
  });

  it('an iterator made after close() ends at once', async () => {
    const h = harness();
    await h.client.close();
    await expect(h.client.messages().next()).resolves.toMatchObject({ done: true });
  });
});

describe('addEventListener', () => {
  it('supports functions, handleEvent objects, once, signal, and removal', async () => {
    const h = harness({ autoConnect: false });
    const got: string[] = [];
    const fn = (e: TetherMessageEvent) => got.push(`fn:${String(e.data)}`);
    const obj = { handleEvent: (e: TetherMessageEvent) => got.push(`obj:${String(e.data)}`) };
    const onceFn = (e: TetherMessageEvent) => got.push(`once:${String(e.data)}`);
    const controller = new AbortController();
    const signalled = (e: TetherMessageEvent) => got.push(`sig:${String(e.data)}`);
    h.client.addEventListener('message', fn);
    h.client.addEventListener('message', fn); // no duplicate
    h.client.addEventListener('message', obj);
    h.client.addEventListener('message', onceFn, { once: true });
    h.client.addEventListener('message', signalled, { signal: controller.signal });
    void h.client.connect();
    h.ws.last().accept();
    h.ws.last().receive({ t: 'msg', data: 1 });
    controller.abort();
    h.client.removeEventListener('message', obj);
    h.ws.last().receive({ t: 'msg', data: 2 });
    expect(got).toEqual(['fn:1', 'obj:1', 'once:1', 'sig:1', 'fn:2']);
    await h.client.close();
  });

  it('on() returns a disposer', async () => {
    const h = harness();
    const got: unknown[] = [];
    const dispose = h.client.on('message', (m) => got.push(m.data));
    h.ws.last().accept();
    h.ws.last().receive({ t: 'msg', data: 1 });
    dispose();
    h.ws.last().receive({ t: 'msg', data: 2 });
    expect(got).toEqual([1]);
    await h.client.close();
  });
});

describe('stats', () => {
  it('reports attempts, uptime, RTT, drops by close code and a health score', async () => {
    const h = harness({ random: () => 0 });
    h.ws.last().accept();
    h.clock.advance(6000);
    let s = h.client.stats();
    expect(s).toMatchObject({
      state: 'open',
      attempts: 1,
      connects: 1,
      uptimeMs: 6000,
      drops: 0,
      health: 100,
    });
    h.ws.last().serverClose(1011);
    h.clock.advance(500);
    h.ws.last().drop();
    s = h.client.stats();
    // The second attempt never opened: a failure, not a drop.
    expect(s.dropsByCode).toEqual({ 1011: 1 });
    expect(s.drops).toBe(1);
    expect(s.attempts).toBe(2);
    expect(s.consecutiveFailures).toBe(1);
    expect(s.totalUptimeMs).toBe(6000);
    // reconnecting (40) - 1 failure (10) - 1 recent drop (5)
    expect(s.health).toBe(25);
    await h.client.close();
  });

  it('healthScore follows the documented formula', () => {
    const base = { state: 'open' as const, consecutiveFailures: 0, recentDrops: 0, rttAvgMs: 50 };
    expect(healthScore(base)).toBe(100);
    expect(healthScore({ ...base, rttAvgMs: 600 })).toBe(90);
    expect(healthScore({ ...base, rttAvgMs: 10_000 })).toBe(80);
    expect(healthScore({ ...base, recentDrops: 3 })).toBe(85);
    expect(healthScore({ ...base, recentDrops: 100 })).toBe(70);
    expect(healthScore({ ...base, consecutiveFailures: 9 })).toBe(60);
    expect(healthScore({ ...base, state: 'circuit-open', consecutiveFailures: 5 })).toBe(0);
    expect(healthScore({ ...base, state: 'closed' })).toBe(0);
  });
});

describe('types', () => {
  it('accepts the browser WebSocket and ws constructors without casts', async () => {
    const { WebSocket: Ws } = await import('ws');
    const fromWs: WebSocketConstructor = Ws;
    // lib.dom's WebSocket (the browser's); undefined in Node 20 at run time.
    const fromDom: WebSocketConstructor | undefined = (
      globalThis as { WebSocket?: typeof WebSocket }
    ).WebSocket;
    expect(typeof fromWs).toBe('function');
    expect(fromDom === undefined || typeof fromDom === 'function').toBe(true);
  });
});
