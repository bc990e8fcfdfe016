/**
 * The in-process side of the audits: a standalone server on 127.0.0.1:0 with one
 * endpoint, and one fault proxy per client in front of it, so that a cut kills exactly
 * one client's connection.
 */
import { createFaultProxy, type FaultProxy, type FaultProxyOptions } from '@tether/testkit';
import {
  type Endpoint,
  type EndpointOptions,
  silentLogger,
  TetherServer,
  type TetherServerOptions,
} from '../../src/index.js';

export const HOST = '127.0.0.1';
export const PATH = '/ws';

/** A running audit server. */
export interface AuditServer {
  tether: TetherServer;
  endpoint: Endpoint;
  port: number;
  close(): Promise<void>;
}

/** Starts a server with one endpoint at `/ws`. Rate limits are off: the audits send in bursts. */
export async function startAuditServer(
  endpointOptions: EndpointOptions = {},
  serverOptions: Omit<TetherServerOptions, 'port' | 'host' | 'server'> = {},
): Promise<AuditServer> {
  const tether = new TetherServer({ port: 0, host: HOST, logger: silentLogger, ...serverOptions });
  const endpoint = tether.endpoint(PATH, { rateLimit: false, ...endpointOptions });
  const { port } = await tether.listen();
  return {
    tether,
    endpoint,
    port,
    close: () => tether.close({ drainTimeoutMs: 1_000 }),
  };
}

/** `count` fault proxies in front of `port`. */
export async function startProxies(
  port: number,
  count: number,
  options: Omit<FaultProxyOptions, 'target'> = {},
): Promise<FaultProxy[]> {
  const proxies: FaultProxy[] = [];
  try {
    for (let i = 0; i < count; i += 1) {
      proxies.push(await createFaultProxy({ ...options, target: { host: HOST, port } }));
    }
  } catch (err) {
    await Promise.all(proxies.map((p) => p.close()));
    throw err;
  }
  return proxies;
}

/** The endpoint URL through a proxy. */
export function urlVia(proxy: { host: string; port: number }): string {
  return `ws://${proxy.host}:${proxy.port}${PATH}`;
}
