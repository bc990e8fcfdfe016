/**
 * Two paths of a cluster that only a session held across nodes takes, on one real
 * redis-server: a takeover (the session resumed on node B while node A still holds its
 * old connection: A closes that one with 4010, the client stays on B) and the re-read
 * after a Redis outage (node A missed the news that node B appended to a session it
 * holds: it reads the session's `outSeq` again once Redis is back, and delivers).
 */
import { createFaultProxy, systemDepMissing, tempDir, waitFor, withTimeout } from '@tether/testkit';
import { describe, expect, it } from 'vitest';
import { afterTest, client, HOST, node, range, redisAt } from './cluster-nodes.js';
import { startHalfFront } from './half-front.js';
import { startSubscribeGate } from './subscribe-gate.js';

const missing = systemDepMissing('redis-server');

/**
 * Node A reaches Redis through a gate that can hold back its SUBSCRIBE, node B directly;
 * Redis keeps its data across a restart.
 */
async function gatedPair(prefix: string) {
  const dir = await tempDir(`tether-redis-${prefix}`);
  afterTest(() => dir.cleanup());
  const persistent = ['--appendonly', 'yes', '--appendfsync', 'always', '--dir', dir.path];
  const redis = await redisAt(persistent);
  const gate = await startSubscribeGate(redis.port);
  afterTest(() => gate.close());
  const a = await node(`redis://${HOST}:${gate.port}`, `${prefix}:`);
  const b = await node(redis.url, `${prefix}:`);
  /**
   * Redis restarts; once this returns both nodes' commands are back, and A's subscriber
   * connection is back without its channels until `gate.hold(false)`.
   */
  const restartHoldingA = async (): Promise<void> => {
    gate.hold(true);
    await redis.stop();
    await waitFor(() => !a.store.health().up && !b.store.health().up, {
      message: 'both nodes see Redis down',
    });
    await redisAt(persistent, redis.port);
    await waitFor(() => a.store.health().up && b.store.health().up && gate.held > 0, {
      timeoutMs: 10_000,
      message: 'both back, A subscribing',
    });
  };
  return { a, b, gate, restartHoldingA };
}

describe.skipIf(missing)('a session held across nodes', () => {
  it('resumed on B while A still holds its old connection: A closes it with 4010, the client stays on B, nothing twice', async () => {
    const redis = await redisAt([]);
    const a = await node(redis.url, 'take:');
    const b = await node(redis.url, 'take:');
    // The client reaches A through a front that can drop the client's side only: the
    // client sees its socket die, A keeps an open connection (a partition, seen from A).
    const front = await startHalfFront(Number(new URL(a.url).port));
    afterTest(() => front.close());
    const { c, got, opens, errors } = client([front.url, b.url]);
    await waitFor(() => c.state === 'open');
    const sid = c.sessionId ?? '';
    for (let n = 1; n <= 6; n++) {
      await withTimeout(c.send(n), 5_000, `send ${n} acknowledged`);
      await (n % 2 === 1 ? a : b).ws.sendTo(sid, n);
    }
    await waitFor(() => got.length >= 6, { message: 'messages 1-6' });

    front.dropClientSide();
    // A still holds the session: it writes 7 to the dead connection (and stores it).
    await a.ws.sendTo(sid, 7);
    const sends = [c.send(7)];
    await waitFor(() => opens.length === 2 && c.state === 'open', {
      timeoutMs: 10_000,
      message: 'resumed on B',
    });
    expect(opens).toEqual([false, true]);
    expect(c.url).toBe(b.url);
    expect(c.sessionId).toBe(sid);
    // Told on its node channel that B took the session over, A ends its old connection.
    await waitFor(() => a.closes.length > 0, { timeoutMs: 10_000, message: 'A closed it' });
    expect(a.closes).toEqual([{ code: 4010, by: 'server' }]);
    expect(front.orphaned).toMatch(/"t":"goodbye","code":4010/);
    expect(a.ws.connections.size).toBe(0);

    for (let n = 8; n <= 12; n++) {
      sends.push(c.send(n));
      await (n % 2 === 1 ? a : b).ws.sendTo(sid, n);
    }
    await withTimeout(Promise.all(sends), 10_000, 'sends 7-12 acknowledged');
    await waitFor(() => got.length >= 12, { timeoutMs: 10_000, message: 'messages 1-12' });
    expect(got).toEqual(range(1, 12));
    expect(a.processed).toEqual(range(1, 6));
    expect(b.processed).toEqual(range(7, 12));
    // On B only, never told to stop.
    expect(c.state).toBe('open');
    expect(c.url).toBe(b.url);
    expect(opens).toEqual([false, true]);
    expect(errors).toEqual([]);
    expect(b.ws.connections.size).toBe(1);
    expect(b.closes).toEqual([]);
  });

  it('after a Redis outage, A reads a session again: what B appended meanwhile is delivered, once', async () => {
    const dir = await tempDir('tether-redis-reread-');
    afterTest(() => dir.cleanup());
    const persistent = ['--appendonly', 'yes', '--appendfsync', 'always', '--dir', dir.path];
    const redis = await redisAt(persistent);
    // A reaches Redis through a proxy that can keep it away after Redis is back.
    const proxy = await createFaultProxy({ target: { host: HOST, port: redis.port } });
    afterTest(() => proxy.close());
    const a = await node(`redis://${HOST}:${proxy.port}`, 'reread:');
    const b = await node(redis.url, 'reread:');
    const { c, got, opens, errors } = client(a.url);
    await waitFor(() => c.state === 'open');
    const sid = c.sessionId ?? '';
    await b.ws.sendTo(sid, 1);
    await a.ws.sendTo(sid, 2);
    await b.ws.sendTo(sid, 3);
    await waitFor(() => got.length >= 3, { message: 'messages 1-3' });

    await redis.stop();
    proxy.refuseConnections(true);
    await waitFor(() => !a.store.health().up && !b.store.health().up, {
      message: 'both nodes see Redis down',
    });
    await redisAt(persistent, redis.port);
    await waitFor(() => b.store.health().up, { timeoutMs: 10_000, message: 'B back' });
    // B appends while A cannot hear it: the news on A's node channel is lost.
    await b.ws.sendTo(sid, 4);
    await b.ws.sendTo(sid, 5);
    expect(a.store.health().up).toBe(false);
    expect(got).toEqual(range(1, 3));

    proxy.refuseConnections(false);
    await waitFor(() => a.store.health().up, { timeoutMs: 10_000, message: 'A back' });
    // Nothing else happens to the session: only A's re-read can deliver 4 and 5.
    await waitFor(() => got.length >= 5, { timeoutMs: 10_000, message: 'messages 4-5' });
    expect(got).toEqual(range(1, 5));
    await b.ws.sendTo(sid, 6);
    await waitFor(() => got.length >= 6, { message: 'message 6, live again' });
    expect(got).toEqual(range(1, 6));
    // The same connection all along: a re-read, not a resume.
    expect(opens).toEqual([false]);
    expect(c.state).toBe('open');
    expect(errors).toEqual([]);
  });
  it('after a Redis outage, what B appends while A is back but not yet subscribed again is delivered', async () => {
    const { a, b, gate, restartHoldingA } = await gatedPair('resub');
    const { c, got, opens, errors } = client(a.url);
    await waitFor(() => c.state === 'open');
    const sid = c.sessionId ?? '';
    await b.ws.sendTo(sid, 1);
    await waitFor(() => got.length >= 1, { message: 'message 1' });

    // A's commands are back; its subscriber connection is back without its channels.
    await restartHoldingA();
    // A's re-read went out when it came back up; this read queues behind it on the same
    // connection, so once it is answered, that re-read was answered too.
    await a.store.getSession(sid);
    // The news on A's node channel finds no subscriber.
    await b.ws.sendTo(sid, 2);
    expect(got).toEqual([1]);

    gate.hold(false);
    await waitFor(() => got.length >= 2, { timeoutMs: 10_000, message: 'message 2' });
    expect(got).toEqual([1, 2]);
    await b.ws.sendTo(sid, 3);
    await waitFor(() => got.length >= 3, { message: 'message 3, live again' });
    expect(got).toEqual([1, 2, 3]);
    expect(opens).toEqual([false]);
    expect(errors).toEqual([]);
  });
});

describe.skipIf(missing)('a topic heard across nodes', () => {
  it('after a Redis outage, what B publishes while A is back but not yet subscribed again is delivered', async () => {
    const { a, b, gate, restartHoldingA } = await gatedPair('topic-resub');
    const { c, errors } = client(a.url);
    const sub = c.subscribe('feed');
    const pubs: number[] = [];
    const gaps: unknown[] = [];
    sub.on('pub', (e) => pubs.push(e.data as number));
    sub.on('gap', (e) => gaps.push(e));
    await sub.ready();
    await b.ws.publish('feed', 1);
    await waitFor(() => pubs.length >= 1, { message: 'publication 1' });

    await restartHoldingA();
    // A's catch-up read went out when it came back up; this one queues behind it.
    await a.store.topicHead('feed');
    // The publication's news finds no subscriber on A's node.
    await b.ws.publish('feed', 2);
    expect(pubs).toEqual([1]);

    gate.hold(false);
    await waitFor(() => pubs.length >= 2, { timeoutMs: 10_000, message: 'publication 2' });
    expect(pubs).toEqual([1, 2]);
    await b.ws.publish('feed', 3);
    await waitFor(() => pubs.length >= 3, { message: 'publication 3, live again' });
    expect(pubs).toEqual([1, 2, 3]);
    expect(gaps).toEqual([]);
    expect(errors).toEqual([]);
  });
});
