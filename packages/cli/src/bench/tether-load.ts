import {
  EARLY_SUBPROTOCOL,
  helloSubprotocol,
  PROTOCOL_VERSION,
  SUBPROTOCOL,
} from '@tether/protocol';
import { type RawData, WebSocket } from 'ws';
import {
  type LoadAdapter,
  type LoadConnection,
  type LoadHooks,
  resetSocket,
} from './load-adapter.js';

/**
 * The built-in load adapter: the Tether protocol spoken directly over `ws`, the least a
 * conforming client must do (hello, answer pings, sub, req/res). Lighter than the full
 * client, so the bench's load generator does not become the bottleneck it measures.
 */
export const tetherLoadAdapter: LoadAdapter = {
  name: 'tether',
  connect: (url, localAddress, hooks) => new TetherLoadConnection(url, localAddress, hooks, false),
};

/** The same, with echo measured by app ping/pong: for servers without an `echo` handler. */
export const tetherPingLoadAdapter: LoadAdapter = {
  name: 'tether-ping',
  connect: (url, localAddress, hooks) => new TetherLoadConnection(url, localAddress, hooks, true),
};

/** A connection that publishes (against a server that allows client publishes). */
export interface TetherPublisher {
  readonly ready: Promise<void>;
  /** The server's announced limits (`rate`, `burst`, ...), once ready. */
  readonly limits: Record<string, number> | undefined;
  /** Resolves on `published`; rejects on an error frame (e.g. FORBIDDEN). */
  publish(topic: string, data: unknown): Promise<void>;
  close(): void;
}

export function connectPublisher(url: string): TetherPublisher {
  const ignore = { delivered: () => {}, closed: () => {} };
  return new TetherLoadConnection(url, undefined, ignore, false);
}

/** Echo requests go to this handler method (the bench hub registers it). */
export const ECHO_METHOD = 'echo';

type Frame = { t?: unknown; [key: string]: unknown };

// ws answers WebSocket pings by itself: no app pings needed (hello.appPings).
// It takes a topic's burst as one `pubs` frame, as the client does (hello.pubs).
const HELLO = { t: 'hello' as const, v: PROTOCOL_VERSION, appPings: false, pubs: true };
/**
 * The hello travels in the upgrade (early hello), encoded once for every connection; a
 * server that does not take it selects plain tether.v1 and gets the frame once open.
 */
const OFFERED = [SUBPROTOCOL, EARLY_SUBPROTOCOL, helloSubprotocol(HELLO)];

class TetherLoadConnection implements LoadConnection, TetherPublisher {
  readonly ready: Promise<void>;
  private readonly ws: WebSocket;
  private welcomed = false;
  private closedByUs = false;
  private nextId = 1;
  private readonly waiting = new Map<
    string,
    { resolve: () => void; reject: (err: Error) => void }
  >();
  private settleReady: { resolve: () => void; reject: (err: Error) => void } | undefined;

  constructor(
    url: string,
    localAddress: string | undefined,
    private readonly hooks: LoadHooks,
    private readonly echoByPing: boolean,
  ) {
    this.ready = new Promise<void>((resolve, reject) => {
      this.settleReady = { resolve, reject };
    });
    this.ws = new WebSocket(url, OFFERED, {
      perMessageDeflate: false,
      ...(localAddress === undefined ? {} : { localAddress }),
    });
    this.ws.on('open', () => {
      if (this.ws.protocol !== EARLY_SUBPROTOCOL) this.send(HELLO);
    });
    this.ws.on('message', (data) => this.onMessage(data));
    this.ws.on('unexpected-response', (_req, res) => {
      res.resume();
      this.fail(new Error(`HTTP ${res.statusCode ?? 0}`));
      this.ws.terminate();
    });
    this.ws.on('error', (err: Error & { code?: string }) =>
      this.fail(new Error(err.code ?? err.message)),
    );
    this.ws.on('close', (code) => {
      this.fail(new Error(`closed ${code}`));
      if (!this.closedByUs && this.welcomed) this.hooks.closed(code);
    });
  }

  subscribe(topic: string): Promise<void> {
    return this.expect(`sub:${topic}`, { t: 'sub', topic });
  }

  publish(topic: string, data: unknown): Promise<void> {
    const id = this.nextId;
    this.nextId += 1;
    return this.expect(`publish:${id}`, { t: 'publish', topic, data, id });
  }

  echo(payload: string): Promise<void> {
    const id = this.nextId;
    this.nextId += 1;
    // App pings carry no payload; `ts` only has to be unique among this connection's pings.
    if (this.echoByPing) return this.expect(`pong:${id}`, { t: 'ping', ts: id });
    return this.expect(`res:${id}`, { t: 'req', id, method: ECHO_METHOD, data: payload });
  }

  /** Limits from the welcome (rate, burst, ...), once welcomed. */
  limits: Record<string, number> | undefined;

  close(): void {
    this.closedByUs = true;
    if (this.ws.readyState === WebSocket.CONNECTING) this.ws.terminate();
    else this.ws.close(1000);
  }

  drop(): void {
    this.closedByUs = true;
    resetSocket(this.ws);
  }

  private expect(key: string, frame: Frame): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.ws.readyState !== WebSocket.OPEN) {
        reject(new Error('not open'));
        return;
      }
      this.waiting.set(key, { resolve, reject });
      this.send(frame);
    });
  }

  private send(frame: Frame): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(frame));
  }

  private fail(err: Error): void {
    this.settleReady?.reject(err);
    this.settleReady = undefined;
    for (const entry of this.waiting.values()) entry.reject(err);
    this.waiting.clear();
  }

  private onMessage(data: RawData): void {
    const parsed = JSON.parse(data.toString()) as Frame | Frame[];
    if (!Array.isArray(parsed)) {
      this.onFrame(parsed);
      return;
    }
    let pubs = 0;
    for (const frame of parsed) {
      if (frame.t === 'pub') pubs += 1;
      else if (frame.t === 'pubs') pubs += (frame.data as unknown[]).length;
      else this.onFrame(frame);
    }
    if (pubs > 0) this.hooks.delivered(pubs);
  }

  private onFrame(frame: Frame): void {
    switch (frame.t) {
      case 'pub':
        this.hooks.delivered(1);
        break;
      case 'pubs':
        this.hooks.delivered((frame.data as unknown[]).length);
        break;
      case 'pong':
        this.settle(`pong:${String(frame.ts)}`);
        break;
      case 'welcome':
        this.welcomed = true;
        this.limits = frame.limits as Record<string, number> | undefined;
        this.settleReady?.resolve();
        this.settleReady = undefined;
        break;
      case 'ping':
        this.send({ t: 'pong', ts: frame.ts, rts: Date.now() });
        break;
      case 'subscribed':
        this.settle(`sub:${String(frame.topic)}`);
        break;
      case 'res':
        this.settle(
          `res:${String(frame.id)}`,
          frame.ok === false ? JSON.stringify(frame.error) : undefined,
        );
        break;
      case 'published':
        this.settle(`publish:${String(frame.id)}`);
        break;
      case 'msg':
        if (typeof frame.seq === 'number') this.send({ t: 'ack', seq: frame.seq });
        break;
      case 'error': {
        const ref = frame.ref as { t?: string; id?: unknown; topic?: unknown } | undefined;
        const message = `${String(frame.code)}: ${String(frame.message)}`;
        if (ref?.t === 'req') this.settle(`res:${String(ref.id)}`, message);
        else if (ref?.t === 'sub') this.settle(`sub:${String(ref.topic)}`, message);
        else if (ref?.t === 'publish') this.settle(`publish:${String(ref.id)}`, message);
        break;
      }
      default:
        break;
    }
  }

  private settle(key: string, error?: string): void {
    const entry = this.waiting.get(key);
    if (entry === undefined) return;
    this.waiting.delete(key);
    if (error === undefined) entry.resolve();
    else entry.reject(new Error(error));
  }
}
