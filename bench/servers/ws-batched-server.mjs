// Hand-optimised `ws` server for bench:compare: what a careful application writes for
// fan-out on `ws`. The messages of one turn go out as ONE JSON array, framed ONCE with
// `Sender.frame` (no per-client framing), and the same frame bytes are written
// to every client's socket between cork() and uncork(). Echo and heartbeat as in
// ws-server.mjs (ws-common.mjs).
import { Sender, WebSocket } from 'ws';
import { benchPub, runWsBenchServer } from './ws-common.mjs';

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

await runWsBenchServer(JSON.parse(process.argv[2] ?? '{}'), (wss, request) => {
  const { topic, count, payloadBytes, first } = request;
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
});
