import { connect, createServer, type Server, type Socket } from 'node:net';
import { listenOnPort0 } from '../src/index.js';

/** A TCP server on port 0 that records what it receives and echoes it back. */
export interface EchoServer {
  readonly port: number;
  readonly server: Server;
  /** Server-side sockets, in accept order. */
  readonly sockets: Socket[];
  /** Everything received, over all connections, as text. */
  received(): string;
  close(): Promise<void>;
}

export async function startEchoServer(): Promise<EchoServer> {
  const sockets: Socket[] = [];
  let received = '';
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    sockets.push(socket);
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('utf8');
      socket.write(chunk);
    });
    socket.on('end', () => socket.end());
  });
  const { port } = await listenOnPort0(server);
  return {
    port,
    server,
    sockets,
    received: () => received,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A client socket that records what it receives and how it ended. */
export interface RecordingClient {
  readonly socket: Socket;
  received(): string;
  /** The error the socket reported, if any (e.g. ECONNRESET). */
  error(): NodeJS.ErrnoException | undefined;
  ended(): boolean;
  closed(): boolean;
}

export function connectRecording(port: number): Promise<RecordingClient> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    let received = '';
    let error: NodeJS.ErrnoException | undefined;
    let ended = false;
    let closed = false;
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('utf8');
    });
    socket.on('end', () => {
      ended = true;
    });
    socket.on('close', () => {
      closed = true;
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      error = err;
    });
    socket.once('connect', () =>
      resolve({
        socket,
        received: () => received,
        error: () => error,
        ended: () => ended,
        closed: () => closed,
      }),
    );
    socket.once('error', reject);
  });
}

/** Lets pending I/O callbacks run, without betting on a duration. */
export async function settle(turns = 5): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((resolve) => setImmediate(resolve));
}
