/**
 * Child process of idle-heap.slow.test.ts: a server holding idle connections (Tether's
 * endpoint with the memory store, or raw ws for the baseline), answering its parent over
 * IPC with `heapUsed` after full GCs. Started with `--expose-gc`; bundled from sources.
 */
import { silentLogger, TetherServer } from '@tether/server';
import { WebSocketServer } from 'ws';

const kind = process.argv[2];
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('start with --expose-gc');
const run = gc;

async function start(): Promise<{ url: string; close: () => Promise<void> }> {
  if (kind === 'tether') {
    const tether = new TetherServer({ host: '127.0.0.1', port: 0, logger: silentLogger });
    tether.endpoint('/ws', { rateLimit: false, maxConnectionsPerIp: 100_000 });
    const { port } = await tether.listen();
    return { url: `ws://127.0.0.1:${port}/ws`, close: () => tether.close({ drainTimeoutMs: 0 }) };
  }
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const address = wss.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `ws://127.0.0.1:${port}/ws`,
    close: () => new Promise<void>((resolve) => wss.close(() => resolve())),
  };
}

const server = await start();
process.on('message', (command) => {
  if (command === 'heap') {
    run();
    run();
    process.send?.({ heapUsed: process.memoryUsage().heapUsed });
  } else if (command === 'exit') {
    void server.close().finally(() => process.exit(0));
  }
});
process.send?.({ url: server.url });
