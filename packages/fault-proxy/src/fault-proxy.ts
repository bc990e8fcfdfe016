import { connect, createServer, type Server } from 'node:net';
import { abort, type Faults, Pair } from './fault-link.js';
import { listenOnPort0 } from './listen.js';

/** Options of {@link createFaultProxy}. */
export interface FaultProxyOptions {
  /** Where accepted connections are forwarded to. */
  target: { host: string; port: number };
  /** Interface the proxy listens on (always an ephemeral port); default `127.0.0.1`. */
  listenHost?: string;
  /** Source of randomness for jitter and cut intervals; default `Math.random`. Seed it to replay. */
  random?: () => number;
  /**
   * Bytes queued in one direction before the proxy stops reading from the sender, so a
   * paused or throttled link pushes back into the sender's socket buffers (and its
   * `bufferedAmount`) like a real stalled path does; default 1 MiB.
   */
  highWaterMark?: number;
}

/** Bytes the proxy has delivered, per direction. */
export interface FaultProxyTraffic {
  /** Client -> target. */
  toTarget: number;
  /** Target -> client. */
  toClient: number;
}

/**
 * A TCP proxy on loopback that the test controls at runtime: add latency, throttle, stall
 * or cut the connections between a client and a server. All faults apply to both
 * directions and to every connection, current and future.
 */
export interface FaultProxy {
  /** Address clients connect to instead of the target. */
  readonly host: string;
  readonly port: number;
  /** Connection pairs currently open. */
  readonly connections: number;
  /** Connections accepted since the proxy started. */
  readonly totalConnections: number;
  /** Whether forwarding is stalled by {@link FaultProxy.pause}. */
  readonly paused: boolean;
  /** Bytes delivered so far. */
  readonly traffic: Readonly<FaultProxyTraffic>;
  /**
   * What the proxy has read but not delivered yet (paused, delayed or throttled), over all
   * connections and both directions: `bytes` of data, and `items` counting data chunks
   * plus held FINs and resets. Lets a test know a fault really intercepted something.
   */
  readonly held: { readonly bytes: number; readonly items: number };
  /**
   * Delays every chunk by `ms` plus a uniform random `0..jitterMs` (default 0). Order is
   * kept, as TCP keeps it: a chunk never overtakes an earlier one. Applies to data read
   * from now on. `setLatency(0)` turns it off.
   */
  setLatency(ms: number, jitterMs?: number): void;
  /** Caps each direction of each connection at `bytesPerSec`; `null` removes the cap. */
  setBandwidth(bytesPerSec: number | null): void;
  /**
   * Stops forwarding in both directions while keeping every socket open: neither side sees
   * an error, a FIN or a byte, exactly like a half-open link (NAT timeout, dead Wi-Fi).
   * Only heartbeats can notice. Data read meanwhile is held, in order, for {@link resume}.
   * New connections are still accepted and forwarded, but their bytes are held the same
   * way, so a WebSocket handshake through a paused proxy hangs rather than fails.
   */
  pause(): void;
  /** Delivers what was held during {@link pause}, in order, and forwards normally again. */
  resume(): void;
  /**
   * Aborts every open connection pair at once: both sockets are reset (TCP RST) where the
   * platform allows, otherwise destroyed. Held data is dropped. Returns how many pairs
   * were cut.
   */
  resetAll(): number;
  /**
   * Runs {@link resetAll} every `ms` (> 0) plus a uniform random `0..jitterMs`, until called
   * with `null` or the proxy closes.
   */
  cutEvery(ms: number | null, jitterMs?: number): void;
  /**
   * While `true`, new connections are reset as soon as they are accepted (server down,
   * port still reachable); open ones are untouched.
   */
  refuseConnections(refuse: boolean): void;
  /** Stops listening, destroys every pair, clears every timer. Idempotent. */
  close(): Promise<void>;
}

const DEFAULT_HIGH_WATER_MARK = 1024 * 1024;

function assertNonNegative(name: string, value: number): void {
  if (!Number.isFinite(value) || value < 0) {
    throw new RangeError(`FaultProxy: ${name} must be a finite number >= 0, got ${value}`);
  }
}

/**
 * Starts a {@link FaultProxy} on an ephemeral loopback port that forwards every accepted
 * connection to `options.target`. Tests connect their client to `proxy.port` and break
 * the link at will. Close it in `afterEach`.
 */
export async function createFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const { target } = options;
  const highWaterMark = options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK;
  if (!(highWaterMark > 0)) throw new RangeError('FaultProxy: highWaterMark must be > 0');

  const faults: Faults = {
    latencyMs: 0,
    jitterMs: 0,
    bytesPerSec: null,
    paused: false,
    random: options.random ?? Math.random,
    highWaterMark,
    traffic: { toTarget: 0, toClient: 0 },
  };
  const pairs = new Set<Pair>();
  let totalConnections = 0;
  let refusing = false;
  let closing: Promise<void> | undefined;
  let cutTimer: NodeJS.Timeout | undefined;

  const clearCutTimer = (): void => {
    if (cutTimer !== undefined) clearTimeout(cutTimer);
    cutTimer = undefined;
  };

  // allowHalfOpen: a FIN from one side is forwarded as a FIN, not turned into a full close.
  const server: Server = createServer({ allowHalfOpen: true }, (client) => {
    totalConnections += 1;
    if (refusing || closing !== undefined) {
      client.on('error', () => {});
      abort(client);
      return;
    }
    const upstream = connect({ host: target.host, port: target.port, allowHalfOpen: true });
    pairs.add(new Pair(client, upstream, faults, (pair) => pairs.delete(pair)));
  });
  server.on('error', () => {
    // Accept errors (EMFILE) surface as client failures in the test; never crash it.
  });
  const address = await listenOnPort0(server, options.listenHost ?? '127.0.0.1');

  const resetAll = (): number => {
    const count = pairs.size;
    for (const pair of [...pairs]) pair.reset();
    return count;
  };

  return {
    host: address.host,
    port: address.port,
    get connections() {
      return pairs.size;
    },
    get totalConnections() {
      return totalConnections;
    },
    get paused() {
      return faults.paused;
    },
    get traffic() {
      return { ...faults.traffic };
    },
    get held() {
      const held = { bytes: 0, items: 0 };
      for (const pair of pairs) pair.addHeld(held);
      return held;
    },
    setLatency(ms, jitterMs = 0) {
      assertNonNegative('latency', ms);
      assertNonNegative('jitter', jitterMs);
      faults.latencyMs = ms;
      faults.jitterMs = jitterMs;
    },
    setBandwidth(bytesPerSec) {
      if (bytesPerSec !== null && !(bytesPerSec > 0 && bytesPerSec !== Number.POSITIVE_INFINITY)) {
        throw new RangeError(
          `FaultProxy: bandwidth must be a finite number > 0 or null, got ${bytesPerSec}`,
        );
      }
      faults.bytesPerSec = bytesPerSec;
      for (const pair of pairs) pair.pump();
    },
    pause() {
      faults.paused = true;
    },
    resume() {
      faults.paused = false;
      for (const pair of pairs) pair.pump();
    },
    resetAll,
    cutEvery(ms, jitterMs = 0) {
      clearCutTimer();
      if (ms === null) return;
      if (!(ms > 0) || !Number.isFinite(ms)) {
        throw new RangeError(`FaultProxy: cut interval must be a finite number > 0, got ${ms}`);
      }
      assertNonNegative('cut jitter', jitterMs);
      const arm = (): void => {
        cutTimer = setTimeout(
          () => {
            resetAll();
            arm();
          },
          ms + faults.random() * jitterMs,
        );
        cutTimer.unref();
      };
      if (closing === undefined) arm();
    },
    refuseConnections(refuse) {
      refusing = refuse;
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        clearCutTimer();
        for (const pair of [...pairs]) pair.destroy();
        server.close(() => resolve());
      });
      return closing;
    },
  };
}
