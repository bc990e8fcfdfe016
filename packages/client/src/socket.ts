/**
 * The WebSocket as the client sees it: the browser's `WebSocket` or Node's
 * `ws`, both through the standard `addEventListener` surface. Nothing here
 * imports either; the constructor is injected.
 */

/** The fields of open/message/close/error events the client reads. */
export interface SocketEvent {
  type?: string;
  data?: unknown;
  code?: number;
  reason?: string;
  wasClean?: boolean;
  error?: unknown;
  message?: string;
}

/** The part of the standard WebSocket API the client uses. */
export interface WebSocketLike {
  readonly readyState: number;
  readonly protocol: string;
  readonly bufferedAmount: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(
    type: 'open' | 'message' | 'close' | 'error',
    listener: (event: SocketEvent) => void,
  ): void;
  removeEventListener(
    type: 'open' | 'message' | 'close' | 'error',
    listener: (event: SocketEvent) => void,
  ): void;
}

/** Handshake options passed as a third constructor argument; `ws` reads them, browsers ignore them. */
export interface WebSocketInit {
  headers?: Record<string, string>;
}

/** A WebSocket constructor: `globalThis.WebSocket`, or `ws`'s `WebSocket` in Node. */
export type WebSocketConstructor = new (
  url: string,
  protocols?: string | string[],
  init?: WebSocketInit,
) => WebSocketLike;

/** `ws` extras read by duck typing: the HTTP response of a refused upgrade, and `terminate()`. */
interface WsExtras {
  on?: (event: 'unexpected-response', fn: (req: unknown, res: HttpResponseLike) => void) => unknown;
  terminate?: () => void;
}

interface HttpResponseLike {
  statusCode?: number;
  statusMessage?: string;
  headers?: Record<string, string | string[] | undefined>;
  on?: (event: 'data' | 'end' | 'error', fn: (chunk?: unknown) => void) => unknown;
}

/** The most of a refusal's body kept for the error (the server's explanation, not a page). */
const REFUSAL_BODY_BYTES = 512;
/** How long the body of a refusal may take before the socket is given up without it. */
const REFUSAL_BODY_WAIT_MS = 1_000;

const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;

export interface SocketHandlers {
  onOpen(): void;
  onText(text: string): void;
  /** A binary message: Tether v1 is text only. */
  onBinary(): void;
  /**
   * The upgrade was refused with an HTTP status (only where the implementation exposes
   * it), with the start of the response body: the server's own explanation.
   */
  onHttpRefusal(status: number, retryAfter: string | undefined, body: string): void;
  /** Called once, when the socket is gone. */
  onClose(code: number, reason: string, wasClean: boolean): void;
}

const noop = (): void => {};

/**
 * One socket of one connection attempt. Its handlers fire at most until
 * {@link dispose}; `onClose` fires at most once.
 */
export class SocketConnection {
  private readonly socket: WebSocketLike;
  private closed = false;
  private disposed = false;
  /** Listeners of {@link whenClosed} still waiting; {@link abort} ends their wait. */
  private readonly closeWaiters = new Set<() => void>();
  private readonly listeners: Array<
    [Parameters<WebSocketLike['addEventListener']>[0], (e: SocketEvent) => void]
  >;

  constructor(
    ctor: WebSocketConstructor,
    url: string,
    protocols: string[],
    init: WebSocketInit | undefined,
    private readonly handlers: SocketHandlers,
  ) {
    this.socket = init ? new ctor(url, protocols, init) : new ctor(url, protocols);
    this.listeners = [
      ['open', () => this.handlers.onOpen()],
      ['message', (e) => this.onMessage(e)],
      ['close', (e) => this.finish(e.code ?? 1006, e.reason ?? '', e.wasClean ?? false)],
      // Browsers follow every error with a close event; `ws` too. Nothing to do here,
      // but `ws` throws on an 'error' without listener, so one always stays attached.
      ['error', noop],
    ];
    for (const [type, fn] of this.listeners) this.socket.addEventListener(type, fn);
    const extras = this.socket as unknown as WsExtras;
    if (typeof extras.on === 'function' && typeof extras.terminate === 'function') {
      extras.on.call(this.socket, 'unexpected-response', (_req, res) => {
        const header = res.headers?.['retry-after'];
        const retryAfter = Array.isArray(header) ? header[0] : header;
        readRefusalBody(res, (body) => {
          if (!this.disposed) this.handlers.onHttpRefusal(res.statusCode ?? 0, retryAfter, body);
          // With a listener attached, `ws` leaves aborting the handshake to us.
          extras.terminate?.call(this.socket);
        });
      });
    }
  }

  get isOpen(): boolean {
    return this.socket.readyState === OPEN;
  }

  get bufferedAmount(): number {
    return this.socket.bufferedAmount;
  }

  get protocol(): string {
    return this.socket.protocol;
  }

  /** Writes one text message; false when the socket is not open. */
  send(text: string): boolean {
    if (this.socket.readyState !== OPEN) return false;
    this.socket.send(text);
    return true;
  }

  /** Starts the close handshake; `onClose` follows when it completes. */
  close(code: number, reason: string): void {
    const state = this.socket.readyState;
    if (state === CLOSING || state === CLOSED) return;
    try {
      this.socket.close(code, reason);
    } catch {
      // A code the implementation rejects: close without one.
      this.socket.close();
    }
  }

  /**
   * Gives up on the socket now (half-open link, connect timeout): `ws` is
   * terminated at once; a browser socket gets a close frame it may never
   * answer, and is simply forgotten: whoever waits in {@link whenClosed} stops
   * waiting, so the forgotten socket holds no listener of ours.
   */
  abort(code: number, reason: string): void {
    const extras = this.socket as unknown as WsExtras;
    if (typeof extras.terminate === 'function') extras.terminate.call(this.socket);
    else this.close(code, reason);
    for (const done of [...this.closeWaiters]) done();
  }

  /** Stops delivering events to the handlers (the error listener stays, see above). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const [type, fn] of this.listeners)
      if (fn !== noop) this.socket.removeEventListener(type, fn);
  }

  /** Resolves when the socket is closed (at once if it already is) or aborted. */
  whenClosed(): Promise<void> {
    if (this.closed || this.socket.readyState === CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        this.socket.removeEventListener('close', done);
        this.closeWaiters.delete(done);
        resolve();
      };
      this.closeWaiters.add(done);
      this.socket.addEventListener('close', done);
    });
  }

  private onMessage(event: SocketEvent): void {
    if (this.disposed) return;
    if (typeof event.data === 'string') this.handlers.onText(event.data);
    else this.handlers.onBinary();
  }

  private finish(code: number, reason: string, wasClean: boolean): void {
    if (this.closed) return;
    this.closed = true;
    if (!this.disposed) this.handlers.onClose(code, reason, wasClean);
  }
}

/**
 * Reads at most {@link REFUSAL_BODY_BYTES} of a refused upgrade's body, for at most
 * {@link REFUSAL_BODY_WAIT_MS}, then calls `done` once with what came (one line).
 */
function readRefusalBody(res: HttpResponseLike, done: (body: string) => void): void {
  if (typeof res.on !== 'function') {
    done('');
    return;
  }
  let text = '';
  let finished = false;
  const finish = (): void => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    done(text.replace(/\s+/g, ' ').trim().slice(0, REFUSAL_BODY_BYTES));
  };
  const timer = setTimeout(finish, REFUSAL_BODY_WAIT_MS);
  (timer as { unref?: () => void }).unref?.();
  res.on.call(res, 'data', (chunk) => {
    text += String(chunk);
    if (text.length >= REFUSAL_BODY_BYTES) finish();
  });
  res.on.call(res, 'end', finish);
  res.on.call(res, 'error', finish);
}
