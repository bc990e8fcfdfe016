/**
 * Sessions across servers sharing one real redis-server: a server message sent through
 * any node reaches the session's client on the node that holds it, live, in order,
 * once; a client moving between nodes (and back) keeps its dedupe mark and its log.
 */
import { systemDepMissing, waitFor, withTimeout } from '@tether/testkit';
import { describe, expect, it } from 'vitest';
import { RedisStore } from '../src/index.js';
import { afterTest, client, type Node, node, range, redisAt } from './cluster-nodes.js';

const missing = systemDepMissing('redis-server');

describe.skipIf(missing)('sessions shared through Redis', () => {
  it('a message sent through any node reaches the session on the node holding it, in order, once', async () => {
    const redis = await redisAt();
    const a = await node(redis.url, 'send:');
    const b = await node(redis.url, 'send:');
    const { c, got } = client(b.url);
    await waitFor(() => c.state === 'open');
    const sid = c.sessionId ?? '';
    const N = 60;
    // Alternating: each node's next seq follows the other's (assigned in Redis).
    for (let i = 1; i <= N; i++) {
      const result = await (i % 2 === 1 ? a : b).ws.sendTo(sid, i);
      expect(result.seq).toBe(i);
    }
    // Then a burst through both at once: each node's own sends keep their order.
    const burst = range(N + 1, N + 40);
    await Promise.all(burst.map((i) => (i % 2 === 1 ? a : b).ws.sendTo(sid, i)));
    await waitFor(() => got.length >= N + 40, { timeoutMs: 10_000, message: 'every message' });
    expect(got.slice(0, N)).toEqual(range(1, N));
    expect([...got].sort((x, y) => x - y)).toEqual(range(1, N + 40));
    const odd = got.filter((x) => x > N && x % 2 === 1);
    const even = got.filter((x) => x > N && x % 2 === 0);
    expect(odd).toEqual([...odd].sort((x, y) => x - y));
    expect(even).toEqual([...even].sort((x, y) => x - y));
  });

  it('a client moving between nodes and back keeps its dedupe mark and its log', async () => {
    const redis = await redisAt();
    const nodes = [await node(redis.url, 'move:'), await node(redis.url, 'move:')];
    // The client's own failover: both URLs, node 0 first.
    const { c, got, opens } = client(nodes.map((n) => n.url));
    const picks: number[] = [];
    c.on('open', () => picks.push(nodes.findIndex((n) => n.url === c.url)));
    await waitFor(() => c.state === 'open');
    const sid = c.sessionId ?? '';
    const [n0, n1] = nodes as [Node, Node];
    let next = 1;
    const phase = async (via: Node, other: Node) => {
      // Client -> server through the node it is on, server -> client through both.
      for (let i = 0; i < 5; i++) {
        await withTimeout(c.send(next), 5_000, `send ${next} acknowledged`);
        await other.ws.sendTo(sid, next);
        await via.ws.sendTo(sid, -next);
        next++;
      }
    };
    await phase(n0, n1);
    const move = async (to: number) => {
      // The node it is on restarts (1012): the next attempt goes to the other URL at once.
      const from = nodes[1 - to] as Node;
      const before = opens.length;
      for (const conn of from.ws.connections.values()) conn.close(1012, 'restarting');
      await waitFor(() => opens.length > before && c.state === 'open', {
        timeoutMs: 10_000,
        message: `resumed on node ${to}`,
      });
      expect(opens.at(-1)).toBe(true);
      expect(c.sessionId).toBe(sid);
    };
    await move(1);
    await phase(n1, n0);
    await move(0);
    await phase(n0, n1);
    expect(picks).toEqual([0, 1, 0]);
    // Processed once each, in order, on whichever node the client was on.
    expect([...n0.processed, ...n1.processed].sort((x, y) => x - y)).toEqual(range(1, 15));
    expect(n0.processed).toEqual([...range(1, 5), ...range(11, 15)]);
    expect(n1.processed).toEqual(range(6, 10));
    await waitFor(() => got.length >= 30, { timeoutMs: 10_000, message: 'every server message' });
    expect(got).toEqual(range(1, 15).flatMap((i) => [i, -i]));
  });

  it('releases the sessions of a node whose lease ran out, and only those', async () => {
    const redis = await redisAt();
    const lease = (node: string) =>
      new RedisStore({
        url: redis.url,
        prefix: 'lease:',
        node,
        nodeLeaseMs: 300,
        deadNodeWindowMs: 5_000,
        sweepIntervalMs: 0,
      });
    const dead = lease('dead');
    const alive = lease('alive');
    afterTest(() => alive.close());
    const now = Date.now();
    await dead.createSession({ sid: 's-dead', token: 't', node: 'dead', createdAt: now });
    await alive.createSession({ sid: 's-alive', token: 't', node: 'alive', createdAt: now });
    // The dead node stops renewing (as SIGKILL would stop it), without releasing anything.
    await dead.renewLease();
    await dead.close();
    await waitFor(async () => (await alive.getSession('s-dead'))?.disconnectedAt !== null, {
      timeoutMs: 5_000,
      message: 'the dead node sessions released',
    });
    const released = await alive.getSession('s-dead');
    expect(released?.expiresAt).toBeGreaterThan(Date.now());
    expect(released?.expiresAt).toBeLessThanOrEqual(Date.now() + 5_000);
    // The live node renews its own lease: its session stays connected.
    const kept = await alive.getSession('s-alive');
    expect(kept?.disconnectedAt).toBeNull();
    expect(kept?.expiresAt).toBeNull();
  });
});
