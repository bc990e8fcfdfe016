import type { ServerFrame, WelcomeFrame } from '@tether/protocol';
import type {
  SocketEvent,
  WebSocketConstructor,
  WebSocketInit,
  WebSocketLike,
} from '../../src/index.js';

type Listener = (event: SocketEvent) => void;
type EventType = 'open' | 'message' | 'close' | 'error';

/**
 * A scripted WebSocket for ManualClock tests: the test plays the server
 * (`open()`, `receive()`, `serverClose()`), and reads what the client sent.
 * Events are dispatched synchronously, so time only moves when the clock does.
 */
export class FakeWebSocket implements WebSocketLike {
  readyState = 0;
  protocol = '';
  bufferedAmount = 0;
  readonly sent: string[] = [];
  closeCalls: Array<{ code: number | undefined; reason: string | undefined }> = [];
  private readonly listeners = new Map<EventType, Set<Listener>>();

  constructor(
    readonly url: string,
    readonly protocols: string[],
    readonly init: WebSocketInit | undefined,
  ) {}

  addEventListener(type: EventType, listener: Listener): void {
    let set = this.listeners.get(type);
    if (!set) {
      set = new Set();
      this.listeners.set(type, set);
    }
    set.add(listener);
  }

  removeEventListener(type: EventType, listener: Listener): void {
    this.listeners.get(type)?.delete(listener);
  }

  listenerCount(type: EventType): number {
    return this.listeners.get(type)?.size ?? 0;
  }

  send(data: string): void {
    if (this.readyState !== 1) throw new Error('FakeWebSocket: send while not open');
    this.sent.push(data);
  }

  /** The client closes: the fake "server" answers the close handshake at once. */
  close(code?: number, reason?: string): void {
    this.closeCalls.push({ code, reason });
    if (this.readyState >= 2) return;
    this.readyState = 3;
    this.emit('close', { code: code ?? 1005, reason: reason ?? '', wasClean: true });
  }

  // --- the test's side -------------------------------------------------------

  open(protocol = 'tether.v1'): void {
    this.protocol = protocol;
    this.readyState = 1;
    this.emit('open', {});
  }

  receive(frame: ServerFrame | ServerFrame[] | string): void {
    this.emit('message', { data: typeof frame === 'string' ? frame : JSON.stringify(frame) });
  }

  /** Opens the socket and answers the hello with a welcome. */
  accept(overrides: Partial<WelcomeFrame> = {}): void {
    if (this.readyState === 0) this.open();
    this.receive(welcome(overrides));
  }

  serverClose(code: number, reason = ''): void {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.emit('close', { code, reason, wasClean: code !== 1006 });
  }

  /** The link drops without a close frame. */
  drop(): void {
    this.serverClose(1006);
  }

  /** Frames the client sent, parsed. */
  frames(): Array<Record<string, unknown>> {
    return this.sent.map((text) => JSON.parse(text) as Record<string, unknown>);
  }

  framesOfType(t: string): Array<Record<string, unknown>> {
    return this.frames().filter((f) => f.t === t);
  }

  emit(type: EventType, event: SocketEvent): void {
    for (const listener of [...(this.listeners.get(type) ?? [])]) listener(event);
  }
}

let welcomeCounter = 0;

/** A valid welcome frame with short heartbeats unless overridden. */
export function welcome(overrides: Partial<WelcomeFrame> = {}): WelcomeFrame {
  welcomeCounter += 1;
  return {
    t: 'welcome',
    v: 1,
    sid: `s${welcomeCounter}`,
    token: `tok${welcomeCounter}`,
    cid: `c${welcomeCounter}`,
    resumed: false,
    ack: 0,
    hb: { interval: 25_000, timeout: 10_000 },
    limits: { maxMessageBytes: 65_536, rate: 100_000, burst: 100_000, maxBatch: 1000 },
    resumeWindow: 120_000,
    time: Date.now(),
    ...overrides,
  };
}

/** A WebSocket constructor that records every socket it makes. */
export function fakeWebSocketFactory(): {
  WebSocket: WebSocketConstructor;
  sockets: FakeWebSocket[];
  last(): FakeWebSocket;
} {
  const sockets: FakeWebSocket[] = [];
  class Ctor extends FakeWebSocket {
    constructor(url: string, protocols?: string | string[], init?: WebSocketInit) {
      super(url, typeof protocols === 'string' ? [protocols] : (protocols ?? []), init);
      sockets.push(this);
    }
  }
  return {
    WebSocket: Ctor,
    sockets,
    last() {
      const socket = sockets.at(-1);
      if (!socket) throw new Error('no socket was created');
      return socket;
    },
  };
}
