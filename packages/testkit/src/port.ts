import { createServer } from 'node:net';
import { listenOnPort0 } from '@tether/fault-proxy';

export { type BoundAddress, type ListenableServer, listenOnPort0 } from '@tether/fault-proxy';

/**
 * Asks the kernel for a currently free TCP port on `host` by binding port 0 and releasing it.
 *
 * Only for programs that must be told a port number up front (redis-server, a child
 * process). Another process can take the port between this call and its use, so callers
 * retry on `EADDRINUSE`; servers we create ourselves should use {@link listenOnPort0}.
 *
 * @param host - interface to probe; default `127.0.0.1`.
 */
export async function getFreePort(host = '127.0.0.1'): Promise<number> {
  const server = createServer();
  const { port } = await listenOnPort0(server, host);
  await new Promise<void>((resolve, reject) => {
    server.close((err) => (err ? reject(err) : resolve()));
  });
  return port;
}
