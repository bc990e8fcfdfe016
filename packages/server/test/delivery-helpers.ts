/**
 * Helpers of the delivery tests: they speak the protocol with the raw client of
 * helpers.ts (plain `ws` + JSON, no Tether client code), so sessions, resume, acks and
 * topic positions are exercised exactly as they go over the wire.
 */
import { createStore, type Store } from '../src/store/index.js';
import {
  type AnyFrame,
  RawClient,
  type Started,
  serverPerTest,
  type startTether,
} from './helpers.js';

/** What a resuming hello carries. */
export interface ResumeRequest {
  sid: string;
  token: string;
  /** Highest server seq received. */
  seq: number;
}

/** A connected raw client and the welcome it got. */
export interface Hello {
  c: RawClient;
  welcome: AnyFrame;
}

/** Opens a socket and says hello (resuming when `resume` is given); waits for the welcome. */
export async function hello(url: string, resume?: ResumeRequest): Promise<Hello> {
  const c = await RawClient.open(url);
  c.sendJson(resume === undefined ? { t: 'hello', v: 1 } : { t: 'hello', v: 1, resume });
  const welcome = await c.next((f) => f.t === 'welcome');
  return { c, welcome };
}

/** The resume request that continues `welcome`'s session after receiving up to `seq`. */
export function resumeOf(welcome: AnyFrame, seq: number): ResumeRequest {
  return { sid: welcome.sid as string, token: welcome.token as string, seq };
}

/** Reliable server messages received so far: `[seq, data]`, in arrival order. */
export function reliable(c: RawClient): Array<[number, unknown]> {
  return c.frames
    .filter((f) => f.t === 'msg' && typeof f.seq === 'number')
    .map((f) => [f.seq as number, f.data]);
}

/** The highest reliable server seq received (0 if none). */
export function lastSeq(c: RawClient): number {
  return reliable(c).reduce((max, [seq]) => Math.max(max, seq), 0);
}

/** Offsets of the `pub` frames of `topic` received so far, in arrival order. */
export function offsets(c: RawClient, topic: string): number[] {
  return c.frames.filter((f) => f.t === 'pub' && f.topic === topic).map((f) => f.offset as number);
}

/** Cumulative acks received so far. */
export function acks(c: RawClient): number[] {
  return c.frames.filter((f) => f.t === 'ack').map((f) => f.seq as number);
}

/** `[from, ..., to]`. */
export function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
}

/** Waits until the socket closed (terminating it first); for a cut that the server must notice. */
export async function cut(c: RawClient): Promise<void> {
  c.close();
  await c.waitClosed();
}

/** What {@link deliveryServer} gives a test file. */
export interface DeliveryServer {
  /**
   * Starts a server with `options` over the file's defaults; with `store` (a spec for
   * `createStore` or a store) it keeps its sessions and topics there.
   */
  setup(
    options?: Parameters<typeof startTether>[0],
    store?: Parameters<typeof createStore>[0],
  ): Promise<Started>;
  /** Says hello (resuming when asked) as a client that is closed after the test. */
  connect(url: string, resume?: ResumeRequest): Promise<Hello>;
  /** The server of the running test. */
  readonly started: Started | undefined;
  /** The store `setup` was given, if any. */
  readonly store: Store | undefined;
}

/**
 * The setup every delivery test file shares: after each test, its clients, its server
 * and its store are closed (call once, at the top of the file).
 */
export function deliveryServer(defaults: Parameters<typeof startTether>[0] = {}): DeliveryServer {
  let store: Store | undefined;
  const server = serverPerTest({
    after: async () => {
      await store?.close();
      store = undefined;
    },
  });
  return {
    setup(options = {}, spec) {
      if (spec !== undefined) store = createStore(spec);
      return server.start({ ...defaults, ...options }, store === undefined ? {} : { store });
    },
    async connect(url, resume) {
      const h = await hello(url, resume);
      server.keep(h.c);
      return h;
    },
    get started() {
      return server.started;
    },
    get store() {
      return store;
    },
  };
}
