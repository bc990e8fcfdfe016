/**
 * A loopback TCP proxy in front of Redis that can hold back a connection's SUBSCRIBE: a
 * subscriber connection that reconnects after an outage stays without its channels until
 * `hold(false)`, while every other connection (the store's commands) goes through. It
 * makes the moment between "the store is back" and "its subscriptions are back" as long
 * as a test needs.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface SubscribeGate {
  readonly port: number;
  /** Connections whose SUBSCRIBE is being held. */
  readonly held: number;
  /** From now on, holds every SUBSCRIBE (and what follows it on its connection); false releases. */
  hold(on: boolean): void;
  close(): Promise<void>;
}

export async function startSubscribeGate(redisPort: number): Promise<SubscribeGate> {
  const sockets = new Set<Socket>();
  /** Held connections: the upstream socket and what its client sent since. */
  const queues = new Map<Socket, Buffer[]>();
  let holding = false;
  const server: Server = createServer((client) => {
    const upstream = connect({ host: '127.0.0.1', port: redisPort });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => s.destroy());
      s.on('close', () => {
        sockets.delete(s);
        queues.delete(upstream);
        client.destroy();
        upstream.destroy();
      });
    }
    client.on('data', (chunk: Buffer) => {
      const queue = queues.get(upstream);
      if (queue !== undefined) queue.push(chunk);
      else if (holding && chunk.toString('latin1').toLowerCase().includes('subscribe')) {
        queues.set(upstream, [chunk]);
      } else upstream.write(chunk);
    });
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return {
    port: typeof address === 'object' && address !== null ? address.port : 0,
    get held() {
      return queues.size;
    },
    hold(on) {
      holding = on;
      if (on) return;
      for (const [upstream, chunks] of queues) for (const c of chunks) upstream.write(c);
      queues.clear();
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
