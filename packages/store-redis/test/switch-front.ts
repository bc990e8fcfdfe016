/**
 * A load balancer in front of a cluster, for one client: a loopback TCP listener that
 * forwards each new connection to the first node of its list that is still up, with no
 * stickiness (what nginx does with several upstreams). A node marked down is skipped; a
 * connection to it is cut, as its death would cut it. When the client accepts a list of
 * URLs itself, this is what that list does.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface Front {
  /** `ws://127.0.0.1:PORT/ws`: give this to the client. */
  readonly url: string;
  /** The node each accepted connection was forwarded to, in order. */
  readonly picks: number[];
  /** Cuts every open connection (the client reconnects through the front). */
  cut(): void;
  close(): Promise<void>;
}

/** Which nodes are up (shared by every front of a test). */
export class Upstreams {
  private readonly down = new Set<number>();
  constructor(readonly ports: readonly number[]) {}
  isUp(node: number): boolean {
    return !this.down.has(node);
  }
  markDown(node: number): void {
    this.down.add(node);
  }
  markUp(node: number): void {
    this.down.delete(node);
  }
}

/** A front trying `order` (indexes into `upstreams.ports`) in turn. */
export async function startFront(upstreams: Upstreams, order: readonly number[]): Promise<Front> {
  const sockets = new Set<Socket>();
  const picks: number[] = [];
  const server: Server = createServer((client) => {
    const node = order.find((n) => upstreams.isUp(n));
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => client.destroy());
    if (node === undefined) {
      client.destroy();
      return;
    }
    picks.push(node);
    const upstream = connect({ host: '127.0.0.1', port: upstreams.ports[node] ?? 0 });
    sockets.add(upstream);
    upstream.on('close', () => {
      sockets.delete(upstream);
      client.destroy();
    });
    upstream.on('error', () => upstream.destroy());
    client.on('close', () => upstream.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `ws://127.0.0.1:${port}/ws`,
    picks,
    cut: () => {
      for (const s of sockets) s.destroy();
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
