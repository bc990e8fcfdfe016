/**
 * A loopback TCP front for one node that can drop the client's side of its connections
 * while keeping the node's side open: the client sees its socket die at once, the node
 * still holds an open connection (a partition, as the node sees it). What the node writes
 * afterwards is kept in `orphaned`; once it says `goodbye`, the node's side is ended so
 * its close completes without waiting for the close handshake.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface HalfFront {
  /** `ws://127.0.0.1:PORT/ws`. */
  readonly url: string;
  /** What the node wrote to connections whose client side was dropped (latin1). */
  readonly orphaned: string;
  /** Destroys the client side of every open connection; the node side stays open. */
  dropClientSide(): void;
  close(): Promise<void>;
}

export async function startHalfFront(port: number): Promise<HalfFront> {
  const pairs = new Set<{ client: Socket; upstream: Socket }>();
  const sockets = new Set<Socket>();
  let orphaned = '';
  const server: Server = createServer((client) => {
    const upstream = connect({ host: '127.0.0.1', port });
    const pair = { client, upstream };
    pairs.add(pair);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => s.destroy());
    }
    client.on('close', () => pairs.delete(pair));
    upstream.on('close', () => client.destroy());
    client.pipe(upstream, { end: false });
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const bound = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `ws://127.0.0.1:${bound}/ws`,
    get orphaned() {
      return orphaned;
    },
    dropClientSide() {
      for (const { client, upstream } of pairs) {
        upstream.unpipe(client);
        client.unpipe(upstream);
        upstream.removeAllListeners('close');
        upstream.on('data', (chunk: Buffer) => {
          orphaned += chunk.toString('latin1');
          if (orphaned.includes('"goodbye"')) upstream.end();
        });
        // Unpiped, it stopped flowing.
        upstream.resume();
        client.destroy();
      }
      pairs.clear();
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
