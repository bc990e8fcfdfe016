// Socket.IO server for bench:compare, websocket transport only. Fan-out is a room emit;
// echo is an event with an acknowledgement. Driven over IPC like the Tether bench hub
// (publish, usage, gc, close).
import { createServer } from 'node:http';
import { Server } from 'socket.io';
import { serveIpc } from '../../packages/cli/dist/bench/ipc.js';
import { BENCH_LISTEN_BACKLOG } from '../../packages/cli/dist/bench/listen.js';
import { collectGarbage, processUsage } from '../../packages/cli/dist/bench/usage.js';

const config = JSON.parse(process.argv[2] ?? '{}');
const http = createServer();
const io = new Server(http, {
  transports: ['websocket'],
  perMessageDeflate: false,
  serveClient: false,
  // The heartbeat scenario: Engine.IO pings every client this often.
  ...(config.heartbeatIntervalMs === undefined ? {} : { pingInterval: config.heartbeatIntervalMs }),
  ...(config.heartbeatTimeoutMs === undefined ? {} : { pingTimeout: config.heartbeatTimeoutMs }),
});
io.on('connection', (socket) => {
  socket.on('sub', (topic, ack) => {
    socket.join(topic);
    ack?.();
  });
  socket.on('echo', (data, ack) => ack?.(data));
});
// Tether's listen backlog: every compared server queues the same connects.
await new Promise((resolve) =>
  http.listen(
    { port: config.port ?? 0, host: config.host ?? '127.0.0.1', backlog: BENCH_LISTEN_BACKLOG },
    resolve,
  ),
);
const { port } = http.address();

function close() {
  io.close(() => setImmediate(() => process.exit(0)));
  io.disconnectSockets(true);
}

serveIpc(
  {
    publish({ topic, count, payloadBytes, first }) {
      const pad = 'x'.repeat(payloadBytes);
      for (let i = 0; i < count; i += 1)
        io.to(topic).emit('pub', { n: first + i, ts: Date.now(), pad });
      return count;
    },
    usage: () => ({ ...processUsage(), connections: io.engine.clientsCount }),
    gc: () => collectGarbage(),
    close,
  },
  close,
);
process.send({ ready: true, port, url: `ws://127.0.0.1:${port}/` });
