import { execFileSync } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { SYSTEM_DEPS, systemDepMissing, waitFor } from '@tether/testkit';
import { describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { startChildHub } from '../src/bench/hub.js';
import { type AdapterSpec, resetSocket } from '../src/bench/load-adapter.js';
import { LocalPool } from '../src/bench/pool.js';

/**
 * A bench run's teardown must leave the kernel as it found it. Closed load sockets used
 * to wait in TIME_WAIT for a minute, each holding its source port; three `--only idle`
 * rounds left 30,000 to 50,000 of them on the bench's eight source addresses, and the
 * next run's load clients spent up to ten seconds of both cores in `bind()` searching
 * for a free port (`inet_bind2_bucket_match_addr_any` under `perf`): that run's connect
 * rate measured the port search. Every adapter now ends its connections with a reset.
 */

const adapters = new URL('../../../bench/adapters.mjs', import.meta.url).href;
const CASES: [string, string, AdapterSpec][] = [
  ['tether', fileURLToPath(new URL('../dist/bench/hub-child.js', import.meta.url)), 'tether'],
  [
    'ws',
    fileURLToPath(new URL('../../../bench/servers/ws-server.mjs', import.meta.url)),
    { module: adapters, name: 'wsAdapter' },
  ],
  [
    // Ready only at the welcome: 20 opened means the server answered every hello.
    'ws (hello)',
    fileURLToPath(new URL('../../../bench/servers/ws-hello-server.mjs', import.meta.url)),
    { module: adapters, name: 'wsHelloAdapter' },
  ],
  [
    'socket.io',
    fileURLToPath(new URL('../../../bench/servers/socketio-server.mjs', import.meta.url)),
    { module: adapters, name: 'socketioAdapter' },
  ],
];

/** One TCP socket as `ss` lists it. */
interface SocketRow {
  state: string;
  /** `local peer`, both as `address:port`: the connection's identity. */
  ends: string;
}

/**
 * Every socket with an end on port `port`, listener aside. The port alone does not pick
 * out this test's connections: a listener on port 0 can be given a port whose previous
 * server left its clients' sockets in TIME_WAIT (`dport` is that port), so callers match
 * the `ends` they saw established.
 */
function socketsOn(port: number): SocketRow[] {
  const out = execFileSync(
    SYSTEM_DEPS.ss.path,
    ['-tanH', 'state', 'all', `( sport = :${port} or dport = :${port} )`],
    { encoding: 'utf8' },
  );
  return out
    .trim()
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => {
      const [state, , , local, peer] = line.split(/\s+/) as string[];
      return { state: state as string, ends: `${local} ${peer}` };
    })
    .filter((row) => row.state !== 'LISTEN');
}

/** Connects to 127.0.0.1:`port` and ends first, leaving this end in TIME_WAIT. */
async function stranger(port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.end());
    socket.on('error', reject);
    socket.on('close', () => resolve());
    socket.resume();
  });
}

describe.skipIf(systemDepMissing('ss'))('bench teardown', () => {
  it.each(CASES)(
    '%s: closeAll leaves no socket behind, none in TIME_WAIT',
    async (_name, entry, adapter) => {
      const hub = await startChildHub({ host: '127.0.0.1', port: 0, instrument: false }, entry);
      const port = Number(new URL(hub.url).port);
      const pool = new LocalPool();
      try {
        // A socket on the hub's port that is not the pool's, as a previous server on the
        // same port leaves behind: its client's end waits in TIME_WAIT.
        await stranger(port);
        expect(socketsOn(port).map((row) => row.state)).toContain('TIME-WAIT');
        const opened = await pool.open({
          url: hub.url,
          count: 20,
          addresses: ['127.0.0.2', '127.0.0.3'],
          concurrency: 10,
          adapter,
          timeoutMs: 10_000,
        });
        expect(opened).toMatchObject({ opened: 20, failed: 0 });
        // Both ends of the 20 load connections (from 127.0.0.2 and 127.0.0.3 to the hub).
        const ours = new Set(
          socketsOn(port)
            .filter((row) => row.state === 'ESTAB' && /(^| )127\.0\.0\.[23]:/.test(row.ends))
            .map((row) => row.ends),
        );
        expect(ours.size).toBe(40);
        await pool.closeAll();
        // Whatever is still closing settles within moments; a close handshake ends in
        // TIME_WAIT on one side of every connection, a reset in nothing.
        const left = (): string[] =>
          socketsOn(port)
            .filter((row) => ours.has(row.ends))
            .map((row) => row.state);
        const deadline = Date.now() + 5_000;
        let states = left();
        while (states.some((s) => s !== 'TIME-WAIT') && Date.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, 50));
          states = left();
        }
        expect(states).toEqual([]);
        expect(await pool.drops()).toEqual({});
      } finally {
        await pool.closeAll();
        await hub.close();
      }
    },
  );
});

describe('resetSocket', () => {
  it('closes a connection whose FIN is still in flight', async () => {
    // A TCP reset of a socket whose shutdown is pending fails (EINVAL) and left the
    // socket open for good: a load connection that was ending as the pool dropped it.
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise((resolve) => server.once('listening', resolve));
    const { port } = server.address() as { port: number };
    const ws = new WebSocket(`ws://127.0.0.1:${port}`);
    try {
      await new Promise((resolve, reject) => {
        ws.once('open', resolve);
        ws.once('error', reject);
      });
      ws.on('error', () => {});
      const socket = (ws as unknown as { _socket: Socket })._socket;
      socket.write(Buffer.from([0x8a, 0x80, 0, 0, 0, 0]));
      socket.end();
      resetSocket(ws);
      await waitFor(() => ws.readyState === WebSocket.CLOSED, { message: 'connection closed' });
    } finally {
      ws.terminate();
      for (const client of server.clients) client.terminate();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
