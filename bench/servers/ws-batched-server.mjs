// Hand-optimised `ws` server for bench:compare: what a careful application writes for
// fan-out on `ws`. The messages of one turn go out as ONE JSON array, framed ONCE with
// `Sender.frame` (no per-client framing), and the same frame bytes are written
// to every client's socket between cork() and uncork(). Echo and heartbeat as in
// ws-server.mjs. Driven over IPC like the Tether bench hub (publish, usage, gc, close).
import { Sender, WebSocket, WebSocketServer } from 'ws';
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

/** A text frame of `text`, built once (server frames are not masked). */
function textFrame(text) {
  return Sender.frame(Buffer.from(text), {
    fin: true,
    rsv1: false,
    opcode: 1,
    mask: false,
    readOnly: false,
  });
}

serveIpc(
  {
    publish({ topic, count, payloadBytes, first }) {
      const pad = 'x'.repeat(payloadBytes);
      const messages = [];
      for (let i = 0; i < count; i += 1) messages.push(benchPub(topic, first + i, pad));
      const [head, body] = textFrame(JSON.stringify(count === 1 ? messages[0] : messages));
      for (const ws of wss.clients) {
        if (ws.readyState !== WebSocket.OPEN) continue;
        // Private, but the point of this variant: the socket under ws, written directly.
        const socket = ws._socket;
        socket.cork();
        socket.write(head);
        socket.write(body);
        socket.uncork();
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
