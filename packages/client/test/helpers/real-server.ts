import type { Socket } from 'node:net';
import {
  type Endpoint,
  type EndpointOptions,
  silentLogger,
  TetherServer,
  type TetherServerOptions,
} from '@tether/server';

export const HOST = '127.0.0.1';

export interface RunningServer {
  tether: TetherServer;
  endpoint: Endpoint;
  port: number;
  url: string;
  /** Crashes the server: every TCP socket is destroyed at once (clients see 1006), no goodbye. */
  kill(): Promise<void>;
}

/** The real Tether server, standalone on 127.0.0.1 (port 0 unless given), one endpoint at /ws. */
export async function startServer(
  endpointOptions: EndpointOptions = {},
  port = 0,
  serverOptions: Omit<TetherServerOptions, 'port' | 'host' | 'logger' | 'server'> = {},
): Promise<RunningServer> {
  const tether = new TetherServer({ ...serverOptions, port, host: HOST, logger: silentLogger });
  const endpoint = tether.endpoint('/ws', endpointOptions);
  endpoint.handle('echo', (data) => data ?? null);
  const sockets = new Set<Socket>();
  tether.httpServer.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  const address = await tether.listen();
  return {
    tether,
    endpoint,
    port: address.port,
    url: `ws://${HOST}:${address.port}/ws`,
    async kill() {
      for (const socket of sockets) socket.destroy();
      await tether.close({ drainTimeoutMs: 0 });
    },
  };
}
