import type { Server as NetServer } from 'node:net';

/** Anything with the `net.Server` listen/address surface: `net`, `http`, `https` servers. */
export type ListenableServer = Pick<NetServer, 'listen' | 'address' | 'once' | 'off'>;

/** Where a server ended up listening. */
export interface BoundAddress {
  host: string;
  port: number;
}

/**
 * Starts `server` listening on an ephemeral port of `host` and resolves with the address
 * the kernel chose. Rejects if `listen` fails (e.g. the host is not a local interface).
 *
 * @param host - interface to bind; default `127.0.0.1` (loopback: tests never listen on
 * public interfaces).
 */
export function listenOnPort0(server: ListenableServer, host = '127.0.0.1'): Promise<BoundAddress> {
  return new Promise<BoundAddress>((resolve, reject) => {
    const onError = (err: Error): void => {
      server.off('listening', onListening);
      reject(err);
    };
    const onListening = (): void => {
      server.off('error', onError);
      const address = server.address();
      if (address === null || typeof address === 'string') {
        reject(new Error(`listenOnPort0: server is not listening on TCP (${String(address)})`));
        return;
      }
      resolve({ host: address.address, port: address.port });
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(0, host);
  });
}
