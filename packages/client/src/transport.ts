import { type Clock, type Emitter, TetherError, Timer } from '@tether/common';
import { CloseCode, EARLY_SUBPROTOCOL, type HelloFrame } from '@tether/protocol';
import { ServerProtocolError } from './errors.js';
import type { ClientEventMap } from './events.js';
import { handshakeFor } from './handshake.js';
import type { ResolvedOptions } from './options.js';
import {
  closeCodeForHttpStatus,
  parseRetryAfter,
  retryAfterFromReason,
} from './reconnect-policy.js';
import { SocketConnection } from './socket.js';
import type { Transmitter } from './transmitter.js';

/** A server-announced close (goodbye, HTTP refusal), remembered for the socket close that follows. */
interface CloseHint {
  code: number | undefined;
  retryAfterMs: number | undefined;
  /** An HTTP refusal's `HTTP <status> <body>`, used when the socket itself gives no reason. */
  reason?: string;
  /** The HTTP status of a refused upgrade. */
  status?: number;
}

const NO_HINT: CloseHint = { code: undefined, retryAfterMs: undefined };

/** What the lifecycle hears from the socket of the current attempt. */
export interface TransportEvents {
  /** The socket opened; `earlyHello`: the server took the hello carried in the upgrade. */
  onOpen(earlyHello: boolean): void;
  onText(text: string): void;
  onClose(code: number, reason: string, wasClean: boolean): void;
  onError(error: TetherError): void;
}

/** How an attempt's socket ended, with the server's hints applied. */
export interface SocketEnd {
  /** The effective close code: a hint's when the socket itself says only 1005/1006. */
  code: number;
  reason: string;
  /** The HTTP status of a refused upgrade. */
  httpStatus: number | undefined;
  retryAfterMs: number | undefined;
  /** Whether the socket had opened (the upgrade succeeded). */
  opened: boolean;
}

/**
 * The socket of the current attempt: opening it with the handshake, the hints the server
 * gave about its close (goodbye, HTTP refusal), and closing or dropping it. Counts the
 * attempts in a row whose socket never opened (`unreachable`).
 */
export class Transport {
  private conn: SocketConnection | undefined;
  private hint: CloseHint = NO_HINT;
  /** Whether the current attempt's socket opened (the upgrade succeeded). */
  private opened = false;
  /** Attempts in a row whose socket never opened; reset by one that does. */
  private neverOpened = 0;
  /** The URL of the current (or last) attempt. */
  private url = '';

  constructor(
    private readonly opts: ResolvedOptions,
    private readonly transmitter: Transmitter,
    private readonly events: Emitter<ClientEventMap>,
    private readonly clock: Clock,
  ) {}

  /** Whether a socket is attached. */
  get connected(): boolean {
    return this.conn !== undefined;
  }

  /**
   * Opens the socket of a new attempt to `url`, offering `hello` in the upgrade when the
   * options allow it. `current()` says whether the attempt is still the latest: an older
   * socket's events do nothing. False when the constructor threw.
   */
  open(
    url: string,
    token: string | undefined,
    hello: HelloFrame,
    current: () => boolean,
    on: TransportEvents,
  ): boolean {
    this.hint = NO_HINT;
    this.url = url;
    const early = this.opts.earlyHello ? hello : undefined;
    const { protocols, init } = handshakeFor(token, this.opts.authVia, early);
    try {
      const conn = new SocketConnection(this.opts.WebSocket, url, protocols, init, {
        onOpen: () => {
          if (!current()) return;
          this.opened = true;
          this.neverOpened = 0;
          // The server took the hello from the upgrade when it selected tether.v1.early.
          on.onOpen(early !== undefined && conn.protocol === EARLY_SUBPROTOCOL);
        },
        onText: (text) => {
          if (current()) on.onText(text);
        },
        onBinary: () => {
          if (current())
            on.onError(new ServerProtocolError('binary message: Tether v1 is JSON text only'));
        },
        onHttpRefusal: (status, retryAfter, body) => {
          if (!current()) return;
          const retryAfterMs = parseRetryAfter(retryAfter, this.clock.now());
          const reason = `HTTP ${status}${body === '' ? '' : ` ${body}`}`;
          this.hint = { code: closeCodeForHttpStatus(status), retryAfterMs, reason, status };
        },
        onClose: (code, reason, wasClean) => {
          if (current()) on.onClose(code, reason, wasClean);
        },
      });
      this.conn = conn;
      this.transmitter.attach(conn);
      return true;
    } catch (err) {
      const message = `could not create the WebSocket: ${String(err)}`;
      on.onError(new TetherError('SOCKET_FAILED', message, { cause: err, retryable: true }));
      return false;
    }
  }

  /** A `goodbye` announced the close that follows. */
  announced(code: number, retryAfterMs: number | undefined): void {
    this.hint = { code, retryAfterMs };
  }

  /** The attempt is over: its effective code, reason and hints. */
  ended(socketCode: number, socketReason: string): SocketEnd {
    const opened = this.opened;
    this.opened = false;
    const hint = this.hint;
    this.hint = NO_HINT;
    const abnormal = socketCode === CloseCode.NO_STATUS || socketCode === CloseCode.ABNORMAL;
    const code = abnormal && hint.code !== undefined ? hint.code : socketCode;
    const reason =
      abnormal && socketReason === '' && hint.reason !== undefined ? hint.reason : socketReason;
    const httpStatus = abnormal ? hint.status : undefined;
    const retryAfterMs = hint.retryAfterMs ?? retryAfterFromReason(reason);
    return { code, reason, httpStatus, retryAfterMs, opened };
  }

  /** Forgets the socket: its events no longer reach the client. Returns it, if any. */
  detach(): SocketConnection | undefined {
    const conn = this.conn;
    conn?.dispose();
    this.conn = undefined;
    this.transmitter.detach();
    return conn;
  }

  /** Closes `conn` with a handshake; resolves when it is closed, cut after `closeTimeoutMs`. */
  closeGracefully(conn: SocketConnection, code: number, reason: string): Promise<void> {
    conn.close(code, reason);
    return new Promise<void>((resolve) => {
      const timer = new Timer('tether.client.close-handshake', this.clock);
      timer.start(this.opts.closeTimeoutMs, () => {
        conn.abort(code, reason);
        resolve();
      });
      void conn.whenClosed().then(() => {
        timer.clear();
        resolve();
      });
    });
  }

  /**
   * Browsers hide why an upgrade failed (404, 403 and a dead host all read 1006), so
   * a streak of attempts that never opened is reported once, with what to check.
   */
  countNeverOpened(code: number): void {
    this.neverOpened += 1;
    const threshold = this.opts.unreachableAfter;
    if (threshold === 0 || this.neverOpened !== threshold) return;
    this.events.emit('unreachable', {
      type: 'unreachable',
      attempts: this.neverOpened,
      lastCode: code,
      url: this.url,
      hint:
        `${this.neverOpened} attempts in a row never opened a WebSocket at ${this.url}: ` +
        'the path may be wrong (HTTP 404), the page origin may be refused (403), a proxy ' +
        'may block WebSockets, or nothing listens there. Browsers hide the HTTP status: ' +
        "look at the network panel, or try the URL with 'tether probe'.",
    });
  }
}
