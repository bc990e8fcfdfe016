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
const EMPTY = Buffer.alloc(0);
type WsSetSocket = (socket: Duplex, head: Buffer, options: object) => void;

/**
 * One unmasked, unfragmented text frame of `payload`, header and payload in one Buffer
 * (RFC 6455 §5.2): built once for a message shared by many sockets, so each socket gets
 * a single write of the same bytes instead of its own framing and a two-buffer writev.
 */
export function textFrame(payload: Buffer): Buffer {
  const frame = frameFor(payload.length);
  payload.copy(frame, frame.length - payload.length);
  return frame;
}

/** {@link textFrame} of `text` whose UTF-8 length is `bytes`: encoded straight into the frame. */
export function textFrameOf(text: string, bytes: number): Buffer {
  const frame = frameFor(bytes);
  frame.write(text, frame.length - bytes, 'utf8');
  return frame;
}

/** A frame buffer for a `length`-byte text payload, header written, payload not yet. */
function frameFor(length: number): Buffer {
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
  return frame;
}

/**
 * The `ws` socket class the endpoints use (ws's documented `WebSocket` server option).
 *
 * Events go to one {@link SocketOwner} straight from {@link emit}, so a connection
 * costs no closure and no listener per event.
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
  /** Whether messages, pings, pongs and the close go to the owner (until {@link detach}). */
  private routing = false;
  /** Whether the `implicitClose` hook is armed (a close the server starts has its own reason). */
  private implicitArmed = false;
  /** The TCP socket, when frames may be written to it directly (no extension negotiated). */
  private raw: Duplex | undefined = undefined;
  /** Lets a corked 101 go at the end of its turn if nothing was sent ({@link firstSendJoins101}). */
  private corkTimer: NodeJS.Immediate | undefined = undefined;

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

  /**
   * Routes this socket's events to `owner` until {@link detach} (errors until the end).
   * They are handed over in {@link emit}, not through listeners: a connection costs no
   * closure and no entry in the socket's listener table (which ws's own listeners on
   * the socket keep small).
   */
  attach(owner: SocketOwner): void {
    this.owner = owner;
    this.routing = true;
    this.implicitArmed = true;
  }

  /**
   * Stops routing messages, pings, pongs and the close. Errors still reach the owner for
   * the socket's whole life: ws may report an error while closing, and an 'error' with
   * nobody to take it would crash the process.
   */
  detach(): void {
    this.routing = false;
  }

  /**
   * ws reports events by calling `emit` on the socket: the owner gets its events first
   * (no listener per connection), then any listener registered the usual way.
   */
  override emit(event: string | symbol, ...args: unknown[]): boolean {
    const owner = this.owner;
    if (owner !== undefined) {
      if (this.routing) {
        switch (event) {
          case 'message':
            owner.socketMessage(args[0] as RawData, args[1] as boolean);
            break;
          case 'pong':
            owner.socketPong();
            break;
          case 'ping':
            owner.socketPing();
            break;
          case 'close':
            owner.socketClose(args[0] as number, args[1] as Buffer);
            break;
          default:
            break;
        }
      }
      if (event === 'error') {
        owner.socketError(args[0] as Error);
        // Taken: without other listeners, EventEmitter would throw it.
        if (this.listenerCount('error') === 0) return true;
      }
    }
    return super.emit(event, ...args);
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
   * `done` runs once the bytes reached the kernel; leave it out when nobody waits (a
   * raw write without one costs Node no tick and no object per write).
   */
  sendFramed(frame: Buffer, data: Buffer, done?: () => void): void {
    const raw = this.rawSocket();
    if (raw === undefined) this.send(data, TEXT, done);
    else raw.write(frame, done);
  }

  /**
   * Sends `text` (its UTF-8 length is `bytes`) as one text frame: encoded straight into
   * a framed buffer and written once, instead of ws's conversion, framing and two-buffer
   * writev; `ws.send` where raw writes are not safe. `done` as in {@link sendFramed}.
   */
  sendText(text: string, bytes: number, done?: () => void): void {
    const raw = this.rawSocket();
    if (raw === undefined) this.send(text, done);
    else raw.write(textFrameOf(text, bytes), done);
    if (this.corkTimer !== undefined) this.release101();
  }

  /**
   * The acceptor corked the TCP socket before ws wrote the 101 (an early hello: the
   * welcome, or an error, is sent in the same turn of the event loop with the memory
   * store): the first {@link sendText} leaves with the 101 in one write, one system call
   * and one segment fewer per connect. Where nothing is sent in this turn (a store that
   * answers later) the 101 leaves alone at the turn's end.
   */
  firstSendJoins101(): void {
    this.corkTimer = setImmediate(uncork101, this);
  }

  /** Lets a corked 101 go, with what was written after it. */
  release101(): void {
    if (this.corkTimer === undefined) return;
    clearImmediate(this.corkTimer);
    this.corkTimer = undefined;
    (this as unknown as { _socket: Duplex })._socket.uncork();
  }

  /** Whether writes go straight to the TCP socket (open, no extension negotiated). */
  get rawWrites(): boolean {
    return this.rawSocket() !== undefined;
  }

  /**
   * Calls `done` once everything written so far reached the kernel (or the socket
   * failed): an empty write queued behind them. For raw writes made without a callback;
   * does nothing where writes are not raw (their callbacks are never left out).
   */
  afterWrites(done: () => void): void {
    this.rawSocket()?.write(EMPTY, done);
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

function uncork101(socket: TetherSocket): void {
  socket.release101();
}
