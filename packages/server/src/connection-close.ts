import { CloseCode, encodeFrame, type GoodbyeFrame } from '@tether/protocol';
import type { CloseEvent, ConnectionState, TetherConnection } from './connection-types.js';
import type { ConnectionWriter } from './connection-writer.js';
import type { TetherSocket } from './tether-socket.js';

/** WebSocket close reasons are limited to 123 bytes. */
const MAX_REASON_BYTES = 123;

const IMPLICIT_CLOSE_REASONS: Record<number, string> = {
  [CloseCode.MESSAGE_TOO_BIG]: 'message too big',
  [CloseCode.INVALID_PAYLOAD]: 'invalid UTF-8 in a text message',
  [CloseCode.PROTOCOL_ERROR]: 'WebSocket protocol error',
};

/** What the close path needs from its connection. */
export interface ClosingConnection extends TetherConnection {
  readonly state: ConnectionState;
  transition(to: ConnectionState): void;
}

/** Graceful shutdown's close, once the connection's handlers finished. */
export interface DrainClose {
  reason: string;
  retryAfterMs: number;
}

/**
 * How a connection ends when the server ends it: `goodbye` (once), everything queued,
 * then the close frame; and the close event, which says who ended it and why. Built
 * when a close begins (or graceful shutdown asks for one): it also keeps when the close
 * began and the shutdown's pending close, which an open connection never needs.
 */
export class ConnectionClose {
  private closeInfo: { code: number; reason: string } | undefined;
  private goodbyeSent = false;
  private closingAt: number | undefined = undefined;
  private drainInfo: DrainClose | undefined = undefined;

  constructor(
    private readonly ws: TetherSocket,
    private readonly writer: ConnectionWriter,
    private readonly connection: ClosingConnection,
  ) {}

  /** When the close began (monotonic ms: goodbye + close frame sent), if it did. */
  get closingSince(): number | undefined {
    return this.closingAt;
  }

  /** Set by graceful shutdown: the goodbye went out, the close follows when handlers finish. */
  get drain(): DrainClose | undefined {
    return this.drainInfo;
  }

  /** Graceful shutdown sent `goodbye`: the close follows once handlers finish. */
  closeWhenIdle(reason: string, retryAfterMs: number): void {
    this.drainInfo = { reason, retryAfterMs };
  }

  /** The connection's state became `closing` at `now` (monotonic ms). */
  closing(now: number): void {
    this.closingAt = Math.floor(now);
  }

  /** Whether the server began a close (or `ws` refused a frame and is closing). */
  get started(): boolean {
    return this.closeInfo !== undefined;
  }

  /** Sends `goodbye` now without closing (graceful shutdown waits for handlers first). */
  goodbye(code: number, reason: string, retryAfterMs?: number): void {
    const state = this.connection.state;
    if (this.goodbyeSent || state === 'closing' || state === 'closed') return;
    this.goodbyeSent = true;
    const goodbye: GoodbyeFrame = { t: 'goodbye', code, reason };
    if (retryAfterMs !== undefined) goodbye.retryAfter = Math.max(0, Math.round(retryAfterMs));
    // Past the slow-consumer check: a closing connection still says why.
    this.writer.push(encodeFrame(goodbye));
  }

  /** See `Connection.closeWith`. */
  close(code: number, reason: string, retryAfterMs: number | undefined, terminate: boolean): void {
    const state = this.connection.state;
    if (this.closeInfo !== undefined || state === 'closing' || state === 'closed') {
      if (terminate) this.ws.terminate();
      return;
    }
    this.closeInfo = { code, reason };
    this.goodbye(code, reason, retryAfterMs);
    this.startClosing();
    this.ws.closingWithReason();
    this.ws.close(code, truncateReason(reason));
    if (terminate) this.ws.terminate();
  }

  /** `ws` refused a frame and closes with `code`: returns the reason it sends. */
  implicit(code: number, maxMessageBytes: number): string {
    const reason =
      code === CloseCode.MESSAGE_TOO_BIG
        ? `message too big (limit ${maxMessageBytes} bytes)`
        : (IMPLICIT_CLOSE_REASONS[code] ?? 'protocol error');
    this.closeInfo = { code, reason };
    return reason;
  }

  /** Writes what is queued (goodbye last), stops scheduled writes and wakes waiting replays. */
  startClosing(): void {
    this.writer.flush();
    this.connection.transition('closing');
    this.writer.discard();
  }

  /** The close event for a socket that closed with `wsCode` and `wsReason`. */
  event(wsCode: number, wsReason: Buffer): CloseEvent {
    const clean = wsCode !== CloseCode.ABNORMAL;
    const connection = this.connection;
    return this.closeInfo
      ? { connection, ...this.closeInfo, clean, initiatedBy: 'server' }
      : {
          connection,
          code: wsCode,
          reason: wsReason.toString('utf8'),
          clean,
          initiatedBy: 'client',
        };
  }
}

/** Cuts a close reason to what a close frame carries (123 bytes of UTF-8). */
export function truncateReason(reason: string): string {
  if (Buffer.byteLength(reason) <= MAX_REASON_BYTES) return reason;
  let cut = reason.slice(0, MAX_REASON_BYTES);
  while (Buffer.byteLength(cut) > MAX_REASON_BYTES) cut = cut.slice(0, -1);
  return cut;
}
