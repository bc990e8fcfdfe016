/**
 * `maxMessageBytes` (issue 14) against the real server: the client states the largest
 * message it accepts in `hello.maxMessageBytes`, and every WebSocket message it then
 * receives is measured, also during a replay of 1,000 publications. A frame that cannot
 * fit arrives as a small stand-in (`error` TOO_BIG) and the stream goes on: no reconnect.
 */

import { waitFor } from '@tether/testkit';
import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { GapEvent, TetherClient, WebSocketConstructor } from '../src/index.js';
import { useRealSetup } from './helpers/real-setup.js';

const { client, server } = useRealSetup({ minReconnectDelayMs: 20, maxReconnectDelayMs: 100 }, 500);

const range = (from: number, to: number): number[] =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** `ws`'s WebSocket that records the size in bytes of every message it receives. */
function measuring(): { WebSocket: WebSocketConstructor; sizes: number[] } {
  const sizes: number[] = [];
  class Measuring extends WebSocket {
    constructor(url: string, protocols?: string | string[], init?: object) {
      super(url, protocols, init);
      this.on('message', (data: Buffer) => sizes.push(data.length));
    }
  }
  return { WebSocket: Measuring as unknown as WebSocketConstructor, sizes };
}

/** Subscribes to the last 1,000 publications of `feed`; resolves with their payloads' numbers. */
async function replayAll(c: TetherClient): Promise<number[]> {
  const got: number[] = [];
  const sub = c.subscribe('feed', { last: 1000 });
  sub.on('pub', (p) => got.push((p.data as { n: number }).n));
  await waitFor(() => got.length >= 1000, { timeoutMs: 15_000, message: '1,000 replayed' });
  return got;
}

describe('maxMessageBytes', () => {
  it('a client stating 4096 never receives a larger message while replaying 1,000 publications', async () => {
    const s = await server();
    for (let n = 1; n <= 1000; n++) await s.endpoint.publish('feed', { n, pad: 'x'.repeat(60) });
    const limited = measuring();
    const c = client(s.url, { WebSocket: limited.WebSocket, maxMessageBytes: 4096 });
    expect(await replayAll(c)).toEqual(range(1, 1000));
    expect(Math.max(...limited.sizes)).toBeLessThanOrEqual(4096);
    // Without the limit the same replay comes in messages far larger: the check can fail.
    const free = measuring();
    const control = client(s.url, { WebSocket: free.WebSocket });
    expect(await replayAll(control)).toEqual(range(1, 1000));
    expect(Math.max(...free.sizes)).toBeGreaterThan(4096);
  });

  it('a message or publication too big for the client: an error TOO_BIG, the stream goes on, no reconnect', async () => {
    const s = await server();
    const c = client(s.url, { maxMessageBytes: 1024 });
    const messages: unknown[] = [];
    const errors: string[] = [];
    const pubs: unknown[] = [];
    const gaps: GapEvent[] = [];
    c.on('message', (m) => messages.push(m.data));
    c.on('error', (e) => errors.push(e.error.code));
    const sub = c.subscribe('feed');
    sub.on('pub', (p) => pubs.push(p.data));
    sub.on('gap', (g) => gaps.push(g));
    await sub.ready();
    const sid = c.sessionId as string;
    const big = 'x'.repeat(2000);
    await s.endpoint.sendTo(sid, 1);
    await s.endpoint.sendTo(sid, big);
    await s.endpoint.sendTo(sid, 3);
    await s.endpoint.publish('feed', 1);
    await s.endpoint.publish('feed', big);
    await s.endpoint.publish('feed', 3);
    await waitFor(() => messages.includes(3) && pubs.includes(3), {
      timeoutMs: 10_000,
      message: 'the messages after the big ones',
    });
    expect(messages).toEqual([1, 3]);
    expect(pubs).toEqual([1, 3]);
    expect(errors).toEqual(['TOO_BIG', 'TOO_BIG']);
    expect(gaps.map((g) => [g.reason, g.missed, g.next.offset])).toEqual([['too-big', 1, 3]]);
    expect(c.stats().drops).toBe(0);
    expect(c.stats().connects).toBe(1);
  });
});
