// Raw `ws` server for bench:compare: what an application writes on plain `ws`. Fan-out
// encodes each message once and calls `send` per client (no corking); echo answers from
// the message listener; with `heartbeatIntervalMs` one interval pings every client and
// terminates one that did not answer the previous ping (the heartbeat of ws's README).
// Driven over IPC like the Tether bench hub (publish, usage, gc, close).
import { WebSocketServer } from 'ws';
import { serveIpc } from '../../packages/cli/dist/bench/ipc.js';
import { collectGarbage, processUsage } from '../../packages/cli/dist/bench/usage.js';
import { benchPub, startHeartbeat } from './ws-common.mjs';

const config = JSON.parse(process.argv[2] ?? '{}');
const wss = new WebSocketServer({
  host: config.host ?? '127.0.0.1',
  port: config.port ?? 0,
  path: '/ws',
  perMessageDeflate: false,
});
wss.on('connection', (ws) => {
  ws.on('message', (data) => {
    const message = JSON.parse(data.toString());
    if (message.type === 'echo')
      ws.send(JSON.stringify({ type: 'echo', id: message.id, data: message.data }));
  });
});
const heartbeat = startHeartbeat(wss, config.heartbeatIntervalMs);
await new Promise((resolve) => wss.once('listening', resolve));
const { port } = wss.address();

function close() {
  clearInterval(heartbeat);
  for (const ws of wss.clients) ws.terminate();
  wss.close(() => setImmediate(() => process.exit(0)));
}

serveIpc(
  {
    publish({ topic, count, payloadBytes, first }) {
      const pad = 'x'.repeat(payloadBytes);
      for (let i = 0; i < count; i += 1) {
        const text = JSON.stringify(benchPub(topic, first + i, pad));
        for (const ws of wss.clients) ws.send(text);
      }
      return count;
    },
    usage: () => ({ ...processUsage(), connections: wss.clients.size }),
    gc: () => collectGarbage(),
    close,
  },
  close,
);
process.send({ ready: true, port, url: `ws://127.0.0.1:${port}/ws` });
