import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TetherClient, type WebSocketConstructor } from '@tether/client';
import { silentLogger, TetherServer } from '@tether/server';
import { WebSocket } from 'ws';
import { type CheckResult, runCheck, waitUntil } from './check.js';

/** The endpoints of the check: a chat, an event feed, and devices that must authenticate. */
const PATHS = ['/chat', '/events', '/devices'] as const;
const DEVICE_TOKEN = 'device-secret';

/**
 * Several endpoints on one port, as the test-automation dashboard ran them (two WebSocket
 * servers on one HTTP server, routed by path): the application's own HTTP route keeps
 * working; each endpoint answers its own requests; a message sent to one endpoint's
 * connections never reaches another's; an unknown path gets 404; the authenticated
 * endpoint refuses a client without a token and accepts one with it.
 */
export function endpointsCheck(clientsPerEndpoint: number): Promise<CheckResult> {
  return runCheck(
    'endpoints',
    'several endpoints routed by path on one HTTP port',
    async (check) => {
      const http = createServer((req, res) => {
        res.writeHead(req.url === '/app' ? 200 : 404, { 'Content-Type': 'text/plain' });
        res.end(req.url === '/app' ? 'app route\n' : 'not found\n');
      });
      const tether = new TetherServer({ server: http, logger: silentLogger });
      for (const path of PATHS) {
        const endpoint = tether.endpoint(path, {
          ...(path === '/devices'
            ? { authenticate: ({ token }: { token: string | undefined }) => token === DEVICE_TOKEN }
            : {}),
        });
        endpoint.handle('whoami', () => path);
      }
      await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
      const port = (http.address() as AddressInfo).port;
      const clients: Array<{ path: string; client: TetherClient; got: string[] }> = [];
      try {
        for (const path of PATHS) {
          for (let i = 0; i < clientsPerEndpoint; i += 1) {
            const client = new TetherClient(`ws://127.0.0.1:${port}${path}`, {
              WebSocket: WebSocket as unknown as WebSocketConstructor,
              ...(path === '/devices' ? { token: DEVICE_TOKEN } : {}),
            });
            const entry = { path, client, got: [] as string[] };
            client.on('message', ({ data }) =>
              entry.got.push(String((data as { path?: string }).path)),
            );
            clients.push(entry);
          }
        }
        const allOpen = await waitUntil(
          () => clients.every((c) => c.client.state === 'open'),
          20_000,
        );
        check.number('endpoints on one port', PATHS.length).number('clients', clients.length);
        check.expect(
          allOpen,
          `${clients.filter((c) => c.client.state !== 'open').length} clients did not connect`,
        );

        const answers = await Promise.all(
          clients.map((c) =>
            c.client.request('whoami', null, { timeoutMs: 10_000 }).catch(() => undefined),
          ),
        );
        const right = answers.filter((a, i) => a === clients[i]?.path).length;
        check.number('requests answered by their own endpoint', `${right}/${clients.length}`);
        check.expect(
          right === clients.length,
          `${clients.length - right} requests answered wrongly or not at all`,
        );

        for (const [path, endpoint] of tether.endpoints) {
          for (const connection of endpoint.connections.values()) connection.send({ path });
        }
        await waitUntil(() => clients.every((c) => c.got.length >= 1), 10_000);
        const leaks = clients.reduce((sum, c) => sum + c.got.filter((p) => p !== c.path).length, 0);
        const missing = clients.filter((c) => !c.got.includes(c.path)).length;
        check.number('messages delivered to another endpoint', leaks);
        check.expect(leaks === 0, `${leaks} messages crossed endpoints`);
        check.expect(missing === 0, `${missing} clients missed their endpoint's message`);

        const unknown = await upgradeStatus(port, '/nowhere');
        check
          .number('unknown path', `HTTP ${unknown}`)
          .expect(unknown === 404, `unknown path got ${unknown}, not 404`);
        // Read to the end: an unread body stays a pending stream in this process.
        const app = await fetch(`http://127.0.0.1:${port}/app`).then(async (r) => {
          await r.arrayBuffer();
          return r.status;
        });
        check
          .number("the application's own route", `HTTP ${app}`)
          .expect(app === 200, `/app got ${app}`);

        const intruder = new TetherClient(`ws://127.0.0.1:${port}/devices`, {
          WebSocket: WebSocket as unknown as WebSocketConstructor,
        });
        const refused = await new Promise<number>((resolve) => {
          intruder.on('close', ({ code }) => resolve(code));
        });
        await intruder.close();
        check.number('device without a token', `closed ${refused}`);
        check.expect(refused === 4001, `a device without a token got ${refused}, not 4001`);
      } finally {
        await Promise.all(clients.map((c) => c.client.close()));
        await tether.close({ drainTimeoutMs: 1_000 });
        await new Promise<void>((resolve) => {
          http.close(() => resolve());
          http.closeAllConnections();
        });
      }
    },
  );
}

/** The HTTP status of a WebSocket upgrade to `path` (101 when accepted). */
function upgradeStatus(port: number, path: string): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`);
    ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.on('open', () => {
      resolve(101);
      ws.terminate();
    });
    ws.on('error', () => resolve(0));
  });
}
