// Shared by the raw `ws` bench servers: the server itself, the published message and the
// heartbeat.
import { hash, randomBytes } from 'node:crypto';
import { Sender, WebSocket, WebSocketServer } from 'ws';
import { serveIpc } from '../../packages/cli/dist/bench/ipc.js';
import { BENCH_LISTEN_BACKLOG } from '../../packages/cli/dist/bench/listen.js';
import { collectGarbage, processUsage } from '../../packages/cli/dist/bench/usage.js';

/** One fan-out message. */
export function benchPub(topic, n, pad) {
  return { type: 'pub', topic, data: { n, ts: Date.now(), pad } };
}

/** The plain variant's fan-out: each message encoded once, then `send` to every client. */
export function publishEach(wss, { topic, count, payloadBytes, first }) {
  const pad = 'x'.repeat(payloadBytes);
  for (let i = 0; i < count; i += 1) {
    const text = JSON.stringify(benchPub(topic, first + i, pad));
    for (const ws of wss.clients) ws.send(text);
  }
  return count;
}

/**
 * The batched variant's fan-out: a turn's messages as ONE JSON array (one message alone
 * as itself), framed ONCE with `Sender.frame` (server frames are not masked), and the same
 * frame bytes written to every open client's socket between cork() and uncork().
 */
export function publishBatched(wss, { topic, count, payloadBytes, first }) {
  const pad = 'x'.repeat(payloadBytes);
  const messages = [];
  for (let i = 0; i < count; i += 1) messages.push(benchPub(topic, first + i, pad));
  const text = JSON.stringify(count === 1 ? messages[0] : messages);
  const [head, body] = Sender.frame(Buffer.from(text), {
    fin: true,
    rsv1: false,
    opcode: 1,
    mask: false,
    readOnly: false,
  });
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
}

/**
 * ws's README heartbeat (one interval pings every client), with the same dead-connection
 * rule as Tether's: a client silent for `intervalMs + timeoutMs` is terminated. The
 * README's own rule (terminate a client that did not answer the previous ping, i.e.
 * within one interval) cut up to 46 % of 10,000 connections at a 1 s interval when the
 * load clients answered late, so its CPU was measured over fewer connections than the
 * others'. Returns the interval (undefined: no heartbeat).
 */
export function startHeartbeat(wss, intervalMs, timeoutMs = 10_000) {
  if (intervalMs === undefined) return undefined;
  const seen = new WeakMap();
  const pong = function () {
    seen.set(this, performance.now());
  };
  wss.on('connection', (ws) => {
    seen.set(ws, performance.now());
    ws.on('pong', pong);
  });
  return setInterval(() => {
    const now = performance.now();
    for (const ws of wss.clients) {
      if (now - (seen.get(ws) ?? now) >= intervalMs + timeoutMs) {
        ws.terminate();
        continue;
      }
      ws.ping();
    }
  }, intervalMs);
}

/**
 * What an application hand-rolls on `ws` for sessions a client can resume: the client
 * says `{"t":"hello"}` once open; the server makes a session (a random id and token, the
 * token's SHA-256 kept in a Map until the socket closes) and answers with a welcome.
 */
export function helloHandler() {
  const sessions = new Map();
  return (ws) => {
    const sid = randomBytes(12).toString('base64url');
    const token = randomBytes(24).toString('base64url');
    sessions.set(sid, { tokenHash: hash('sha256', token), createdAt: Date.now() });
    ws.once('close', () => sessions.delete(sid));
    ws.send(JSON.stringify({ t: 'welcome', sid, token }));
  };
}

/**
 * A raw `ws` bench server driven over IPC like the Tether bench hub (publish, usage, gc,
 * close): echo answered from the message listener, the heartbeat when
 * `config.heartbeatIntervalMs` is set, and fan-out by `publish(wss, request)`, the one
 * thing the variants do differently. `sessions`: a hello is answered with a welcome
 * (`helloHandler`).
 */
export async function runWsBenchServer(config, publish, { sessions = false } = {}) {
  const wss = new WebSocketServer({
    host: config.host ?? '127.0.0.1',
    port: config.port ?? 0,
    path: '/ws',
    perMessageDeflate: false,
    // Tether's listen backlog: every compared server queues the same connects.
    backlog: BENCH_LISTEN_BACKLOG,
  });
  const welcome = sessions ? helloHandler() : undefined;
  wss.on('connection', (ws) => {
    ws.on('message', (data) => {
      const message = JSON.parse(data.toString());
      if (message.type === 'echo')
        ws.send(JSON.stringify({ type: 'echo', id: message.id, data: message.data }));
      else if (message.t === 'hello' && welcome !== undefined) welcome(ws);
    });
  });
  const heartbeat = startHeartbeat(wss, config.heartbeatIntervalMs, config.heartbeatTimeoutMs);
  await new Promise((resolve) => wss.once('listening', resolve));
  const { port } = wss.address();
  const close = () => {
    clearInterval(heartbeat);
    for (const ws of wss.clients) ws.terminate();
    wss.close(() => setImmediate(() => process.exit(0)));
  };
  serveIpc(
    {
      publish: (request) => publish(wss, request),
      usage: () => ({ ...processUsage(), connections: wss.clients.size }),
      gc: () => collectGarbage(),
      close,
    },
    close,
  );
  process.send({ ready: true, port, url: `ws://127.0.0.1:${port}/ws` });
}
