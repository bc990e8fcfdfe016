import type { Duplex } from 'node:stream';
import { type RawData, WebSocket } from 'ws';

/** What a socket reports to the connection that owns it (see {@link TetherSocket.attach}). */
export interface SocketOwner {
  socketMessage(data: RawData, isBinary: boolean): void;
  /** A WebSocket pong arrived. */
  socketPong(): void;
  /** A WebSocket ping arrived (ws answers it by itself). */
  socketPing(): void;
  socketClose(code: number, reason: Buffer): void;
  socketError(err: Error): void;
  /** `ws` closes on its own with `code` (see {@link TetherSocket}); returns the close reason. */
  implicitClose(code: number): string;
}

/** A WebSocket ping frame with no payload (FIN, opcode 0x9, unmasked as server frames are). */
const PING_FRAME = Buffer.from([0x89, 0x00]);
const TEXT = { binary: false } as const;
type WsSetSocket = (socket: Duplex, head: Buffer, options: object) => void;

/**
 * One unmasked, unfragmented text frame of `payload`, header and payload in one Buffer
 * (RFC 6455 §5.2): built once for a message shared by many sockets, so each socket gets
 * a single write of the same bytes instead of its own framing and a two-buffer writev.
 */
export function textFrame(payload: Buffer): Buffer {
  const length = payload.length;
  const head = length < 126 ? 2 : length < 65_536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(head + length);
  frame[0] = 0x81;
  if (length < 126) frame[1] = length;
  else if (length < 65_536) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeBigUInt64BE(BigInt(length), 2);
  }
  payload.copy(frame, head);
  return frame;
}

/**
 * The `ws` socket class the endpoints use (ws's documented `WebSocket` server option).
 *
 * Events go to one {@link SocketOwner} through listeners shared by every socket (they
 * find their owner through `this`), so a connection costs no closure per event.
 *
 * When `ws` itself rejects an incoming message (over `maxPayload`: 1009; invalid UTF-8:
 * 1007; a WebSocket protocol violation: 1002) it calls `close(code)` without a reason,
 * before any of our code runs. The owner then sends an error frame and a `goodbye`
 * first and puts a reason in the close frame, so the client learns what happened
 * instead of seeing a bare code.
 *
 * Raw writes: heartbeats and shared fan-out messages are written to the TCP socket as
 * prebuilt frames ({@link heartbeat}, {@link sendFramed}). That is safe while ws's own
 * sender never queues: its queue is used only for compression (permessage-deflate) and
 * Blob data, so with an extension negotiated (or before the socket is set) both fall
 * back to `ping()` and `send()`. Bytes written either way count in `bufferedAmount`
 * (ws reads it from the socket's writable state).
 */
export class TetherSocket extends WebSocket {
  private owner: SocketOwner | undefined = undefined;
  /** Whether the `implicitClose` hook is armed (a close the server starts has its own reason). */
  private implicitArmed = false;
  /** The TCP socket, when frames may be written to it directly (no extension negotiated). */
  private raw: Duplex | undefined = undefined;

  /**
   * Called by ws's server once the upgrade completed (extensions are decided by then).
   * Not in ws's typings, but the one place ws hands a server socket its TCP socket.
   */
  setSocket(socket: Duplex, head: Buffer, options: object): void {
    (WebSocket.prototype as unknown as { setSocket: WsSetSocket }).setSocket.call(
      this,
      socket,
      head,
      options,
    );
    if (this.extensions === '') this.raw = socket;
  }

  /** Who gets this socket's events (see {@link attach}). */
  get socketOwner(): SocketOwner | undefined {
    return this.owner;
  }

  /** Routes this socket's events to `owner` until {@link detach} (errors until the end). */
  attach(owner: SocketOwner): void {
    this.owner = owner;
    this.implicitArmed = true;
    this.on('error', onError);
    this.on('message', onMessage);
    this.on('pong', onPong);
    this.on('ping', onPing);
    this.on('close', onClose);
  }

  /**
   * Stops routing messages, pings and pongs. The error listener stays for the socket's
   * whole life: ws may report an error while closing, and an 'error' without a
   * listener would crash the process.
   */
  detach(): void {
    this.off('message', onMessage);
    this.off('pong', onPong);
    this.off('ping', onPing);
    this.off('close', onClose);
  }

  /** Disarms the implicit-close hook: the server starts this close with its own reason. */
  closingWithReason(): void {
    this.implicitArmed = false;
  }

  /** A heartbeat probe: the prebuilt ping frame, one write. */
  heartbeat(): void {
    const raw = this.rawSocket();
    if (raw === undefined) this.ping();
    else raw.write(PING_FRAME);
  }

  /**
   * Sends `data` (UTF-8 text) whose frame `frame` ({@link textFrame}) was built once for
   * many sockets: one write of those bytes; `ws.send` where raw writes are not safe.
   */
  sendFramed(frame: Buffer, data: Buffer, done: () => void): void {
    const raw = this.rawSocket();
    if (raw === undefined) this.send(data, TEXT, done);
    else raw.write(frame, done);
  }

  override close(code?: number, data?: string | Buffer): void {
    const owner = this.owner;
    if (
      this.implicitArmed &&
      owner !== undefined &&
      data === undefined &&
      code !== undefined &&
      this.readyState === WebSocket.OPEN
    ) {
      this.implicitArmed = false;
      super.close(code, owner.implicitClose(code));
      return;
    }
    super.close(code, data);
  }

  private rawSocket(): Duplex | undefined {
    return this.readyState === WebSocket.OPEN ? this.raw : undefined;
  }
}

// Listeners shared by every TetherSocket: ws calls them with `this` = the socket, and only
// TetherSockets register them (in attach).
function onMessage(this: WebSocket, data: RawData, isBinary: boolean): void {
  (this as TetherSocket).socketOwner?.socketMessage(data, isBinary);
}

function onPong(this: WebSocket): void {
  (this as TetherSocket).socketOwner?.socketPong();
}

function onPing(this: WebSocket): void {
  (this as TetherSocket).socketOwner?.socketPing();
}

function onClose(this: WebSocket, code: number, reason: Buffer): void {
  (this as TetherSocket).socketOwner?.socketClose(code, reason);
}

function onError(this: WebSocket, err: Error): void {
  (this as TetherSocket).socketOwner?.socketError(err);
}
