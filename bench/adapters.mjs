// Load adapters for bench:compare (see packages/cli/src/bench/load-adapter.ts): raw `ws`
// and Socket.IO clients with the same duties as the built-in Tether one: become ready,
// join the fan-out, count deliveries, echo.
import { io } from 'socket.io-client';
import { WebSocket } from 'ws';
import { resetSocket } from '../packages/cli/dist/bench/load-adapter.js';

export const wsAdapter = rawWsAdapter('ws', false);

/** For ws-hello-server.mjs: ready once the welcome answered the hello sent on open. */
export const wsHelloAdapter = rawWsAdapter('ws-hello', true);

function rawWsAdapter(name, hello) {
  return {
    name,
    connect: (url, localAddress, hooks) => connectRawWs(url, localAddress, hooks, hello),
  };
}

/** A raw `ws` load connection; with `hello`, ready at the welcome instead of the open. */
function connectRawWs(url, localAddress, hooks, hello) {
  const ws = new WebSocket(url, {
    perMessageDeflate: false,
    ...(localAddress ? { localAddress } : {}),
  });
  const waiting = new Map();
  let nextId = 1;
  let closedByUs = false;
  let opened = false;
  let welcomed;
  const ready = new Promise((resolve, reject) => {
    ws.once('open', () => {
      opened = true;
      if (!hello) resolve();
      else {
        welcomed = resolve;
        ws.send('{"t":"hello"}');
      }
    });
    ws.once('error', (err) => reject(new Error(err.code ?? err.message)));
  });
  ready.catch(() => {});
  ws.on('error', () => {});
  ws.on('message', (data) => {
    const message = JSON.parse(data.toString());
    // The batched ws server sends a turn's publications as one array.
    if (Array.isArray(message)) hooks.delivered(message.length);
    else if (message.type === 'pub') hooks.delivered(1);
    else if (message.type === 'echo') {
      waiting.get(message.id)?.resolve();
      waiting.delete(message.id);
    } else if (message.t === 'welcome') welcomed?.();
  });
  ws.on('close', (code) => {
    for (const entry of waiting.values()) entry.reject(new Error(`closed ${code}`));
    waiting.clear();
    if (opened && !closedByUs) hooks.closed(code);
  });
  return {
    ready,
    // The raw server broadcasts to every client: being connected is being subscribed.
    subscribe: () => Promise.resolve(),
    echo(payload) {
      const id = nextId++;
      return new Promise((resolve, reject) => {
        waiting.set(id, { resolve, reject });
        ws.send(JSON.stringify({ type: 'echo', id, data: payload }));
      });
    },
    close() {
      closedByUs = true;
      if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
      else ws.close(1000);
    },
    drop() {
      closedByUs = true;
      resetSocket(ws);
    },
  };
}

export const socketioAdapter = {
  name: 'socket.io',
  connect(url, localAddress, hooks) {
    const socket = io(url.replace(/\/$/, ''), {
      transports: ['websocket'],
      forceNew: true,
      reconnection: false,
      perMessageDeflate: false,
      ...(localAddress ? { localAddress } : {}),
    });
    let closedByUs = false;
    let opened = false;
    const ready = new Promise((resolve, reject) => {
      socket.once('connect', () => {
        opened = true;
        resolve();
      });
      socket.once('connect_error', (err) => reject(new Error(err.message)));
    });
    ready.catch(() => {});
    socket.on('pub', () => hooks.delivered(1));
    socket.on('disconnect', (reason) => {
      if (opened && !closedByUs) hooks.closed(reason === 'transport close' ? 1006 : 1000);
    });
    return {
      ready,
      subscribe: (topic) => socket.timeout(30_000).emitWithAck('sub', topic),
      echo: (payload) => socket.timeout(30_000).emitWithAck('echo', payload),
      close() {
        closedByUs = true;
        socket.disconnect();
      },
      drop() {
        closedByUs = true;
        // The websocket transport's own ws WebSocket (engine.io-client runs `ws` in Node).
        const ws = socket.io.engine?.transport?.ws;
        if (typeof ws?.terminate === 'function') resetSocket(ws);
        socket.disconnect();
      },
    };
  },
};
