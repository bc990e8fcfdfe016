// A measuring device for bench/PROFILE.md (the connect path, thirteenth part), not a
// server anyone should run: the WebSocket upgrade read straight off a `net` socket, with
// no HTTP server. It checks nothing a real server must check (method, version, key
// format, header limits and characters, a request split over reads), so it shows what
// Node's HTTP server (and, for raw ws, ws's handleUpgrade) costs a connect, by taking it
// away.
import { createHash } from 'node:crypto';
import { createServer } from 'node:net';
import { WebSocket } from 'ws';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/**
 * Listens on 127.0.0.1 (port 0, backlog 4096) and calls `onUpgrade(request, socket,
 * head)` with the first read's request line and headers (names in lower case) as a
 * plain object; resolves to the endpoint's URL.
 */
async function listenFront(onUpgrade) {
  const server = createServer({ noDelay: true }, (socket) => {
    socket.once('data', (chunk) => {
      const text = chunk.latin1Slice(0, chunk.length);
      const end = text.indexOf('\r\n\r\n');
      if (end < 0) {
        socket.destroy();
        return;
      }
      const lines = text.slice(0, end).split('\r\n');
      const [method, url] = lines[0].split(' ');
      const headers = {};
      for (let i = 1; i < lines.length; i += 1) {
        const colon = lines[i].indexOf(':');
        headers[lines[i].slice(0, colon).toLowerCase()] = lines[i].slice(colon + 1).trim();
      }
      const request = { method, url, headers, httpVersion: '1.1', socket };
      onUpgrade(request, socket, chunk.subarray(end + 4));
    });
  });
  server.listen(0, '127.0.0.1', 4096);
  await new Promise((resolve) => server.once('listening', resolve));
  return `ws://127.0.0.1:${server.address().port}/ws`;
}

/** The 101 that accepts a WebSocket upgrade with `key` (RFC 6455's accept hash). */
function switchingProtocols(key) {
  const accept = createHash('sha1')
    .update(key + GUID)
    .digest('base64');
  return (
    'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
    `Sec-WebSocket-Accept: ${accept}\r\n\r\n`
  );
}

/** Raw ws without an HTTP server or handleUpgrade: the 101, then ws's own WebSocket. */
export function listenRawWs() {
  // Tracked as ws's WebSocketServer tracks its clients by default, so both pay for that.
  const clients = new Set();
  return listenFront((request, socket, head) => {
    socket.write(switchingProtocols(request.headers['sec-websocket-key']));
    const ws = new WebSocket(null, undefined, {});
    ws.setSocket(socket, head, { maxPayload: 1 << 20 });
    clients.add(ws);
    ws.on('close', () => clients.delete(ws));
  });
}

/** Tether's own upgrade path (router, acceptor, ws's handleUpgrade) without Node's parser. */
export function listenTetherFront(httpServer) {
  return listenFront((request, socket, head) => httpServer.emit('upgrade', request, socket, head));
}

/**
 * The least a connect can cost in Node here: the 101 written by hand on the front's
 * socket (with `welcome`, a fixed text frame in the same write, as Tether's welcome
 * follows its 101) and the socket kept with a listener that drops what it reads. No
 * WebSocket object, no frame parser, no session: the floor under any WebSocket transport
 * written in JavaScript, raw ws's and an own one alike.
 */
export function listenNetFloor(welcome) {
  const frame = welcome === undefined ? Buffer.alloc(0) : textFrame(welcome);
  const sockets = new Set();
  const drop = () => {};
  return listenFront((request, socket) => {
    const reply = Buffer.from(switchingProtocols(request.headers['sec-websocket-key']), 'latin1');
    socket.write(frame.length === 0 ? reply : Buffer.concat([reply, frame]));
    sockets.add(socket);
    socket.on('data', drop);
    socket.on('error', drop);
    socket.on('close', () => sockets.delete(socket));
  });
}

/** One unmasked text frame (server to client) of `text`, under 64 KiB. */
function textFrame(text) {
  const payload = Buffer.from(text);
  const header =
    payload.length < 126
      ? Buffer.from([0x81, payload.length])
      : Buffer.from([0x81, 126, payload.length >> 8, payload.length & 0xff]);
  return Buffer.concat([header, payload]);
}
