import type { IncomingMessage } from 'node:http';
import { type Clock, DisposerBag, listen } from '@tether/common';
import {
  CloseCode,
  ErrorCode,
  type ErrorFrame,
  encodeFrame,
  type GoodbyeFrame,
  isSendableCloseCode,
  type Json,
  type ServerFrame,
} from '@tether/protocol';
import type { RawData } from 'ws';
import type { AckScheduler } from './ack-scheduler.js';
import { batches } from './batching.js';
import type {
  CloseEvent,
  ConnectionInfo,
  ConnectionState,
  TetherConnection,
} from './connection-types.js';
import { encodeData } from './encode-data.js';
import { DeliveryError } from './errors.js';
import type { FlushScheduler } from './flush-scheduler.js';
import type { HeartbeatSubject } from './heartbeat.js';
import type { Logger } from './logger.js';
import type { ResolvedEndpointOptions } from './options.js';
import { randomId } from './random-id.js';
import { TokenBucket } from './rate-limiter.js';
import type { Session } from './session.js';
import type { EndpointCounters } from './stats.js';
import { TetherSocket } from './tether-socket.js';
import { type ExpiringSubject, refreshAtFor } from './token-expiry.js';
import type { Subscriber } from './topics.js';

/** What a connection needs from its endpoint. */
export interface ConnectionHost {
  readonly path: string;
  readonly options: ResolvedEndpointOptions;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly flusher: FlushScheduler;
  /** Delays acks by `ackDelayMs` so that several share one frame. */
  readonly acks: AckScheduler;
  readonly counters: EndpointCounters;
  /** The connection passed `slowConsumerBytes` and is being closed with 4009. */
  slowConsumer(connection: Connection, bytes: number): void;
  /** The connection's token deadlines changed: the expiry watch looks again. */
  tokenChanged(connection: Connection): void;
  /** Handles one inbound WebSocket message (the frame router). */
  route(connection: Connection, data: RawData, isBinary: boolean): void;
  /** The socket closed; the event is final. */
  closed(connection: Connection, event: CloseEvent): void;
  /** A round-trip time was measured (ops metrics observe it). */
  rttMeasured(connection: Connection, rttMs: number): void;
}

/** Who the `authenticate` hook said the connection is. */
export interface ConnectionIdentity {
  ip: string;
  user: string | undefined;
  data: Readonly<Record<string, Json>> | undefined;
  /** When the credentials expire (wall-clock ms); undefined when they do not. */
  expiresAt: number | undefined;
  /** The upgrade request, kept for the hook when the token can be refreshed. */
  request: IncomingMessage | undefined;
  /** Data for the client's `welcome` (the `welcome` of `authenticate`). */
  welcome?: Readonly<Record<string, Json>> | undefined;
}

/** Messages held while the connection waits (an asynchronous hello); more is abuse. */
const MAX_HELD_MESSAGES = 256;
/** WebSocket close reasons are limited to 123 bytes. */
const MAX_REASON_BYTES = 123;

const IMPLICIT_CLOSE_REASONS: Record<number, string> = {
  [CloseCode.MESSAGE_TOO_BIG]: 'message too big',
  [CloseCode.INVALID_PAYLOAD]: 'invalid UTF-8 in a text message',
  [CloseCode.PROTOCOL_ERROR]: 'WebSocket protocol error',
};

/**
 * One WebSocket connection: its state, counters, heartbeat timestamps, rate bucket and
 * the send path. Frames queued within one tick leave as one WebSocket message (a batch),
 * written by the shared {@link FlushScheduler}. State changes only in `transition()`.
 *
 * Memory held for the client is bounded: the socket's unsent bytes plus the queue never
 * pass `slowConsumerBytes` by more than one frame. A frame that would push them past it
 * closes the connection as a slow consumer (4009) instead of being queued; the client
 * resumes and gets what it missed from the store. Replays wait for room
 * ({@link whenWritable}) instead of filling the queue.
 */
export class Connection implements TetherConnection, Subscriber, HeartbeatSubject, ExpiringSubject {
  readonly id = randomId(9);
  readonly ip: string;
  readonly user: string | undefined;
  /** Replaced when a refreshed token carries new claims. */
  data: Readonly<Record<string, Json>> | undefined;
  /** When the token expires (wall-clock ms); undefined when it does not. */
  tokenExpiresAt: number | undefined;
  /** When to send `refresh`; undefined once sent. */
  refreshAt: number | undefined;
  /** The upgrade request, for the hook on a refresh (kept only for expiring tokens). */
  readonly authRequest: IncomingMessage | undefined;
  /** Data for the client's `welcome`, from `authenticate`. */
  readonly welcomeData: Readonly<Record<string, Json>> | undefined;
  /** Numbers `auth` frames: the answer of an older one does nothing. */
  authAttempt = 0;
  private current: ConnectionState = 'handshake';
  session: Session | undefined;
  client: ConnectionInfo['client'];
  readonly connectedAt: number;
  readonly openedAt: number;
  lastSeenAt: number;
  nextPingAt = 0;
  closingSince: number | undefined;
  rttMs: number | undefined;
  private pingSentAt: number | undefined;
  messagesIn = 0;
  messagesOut = 0;
  bytesIn = 0;
  bytesOut = 0;
  errors = 0;
  readonly bucket: TokenBucket | undefined;
  /** Whether a hello arrived (a second one is a DUPLICATE_HELLO). */
  helloSeen = false;
  /** Request and message handlers of this connection still running. */
  inFlight = 0;
  /** Requests accepted and not answered yet (running or waiting their turn); see `maxPendingRequests`. */
  pendingRequests = 0;
  private ownTail: Promise<void> | undefined;
  /** Topics this connection subscribed to (created on first subscribe). */
  topics: Set<string> | undefined;
  /** Set by graceful shutdown: the goodbye went out, the close follows when handlers finish. */
  drainClose: { reason: string; retryAfterMs: number } | undefined;
  private queue: string[] = [];
  /** UTF-8 bytes of the frames in `queue`. */
  private queuedBytes = 0;
  /** Pumps waiting for room (see {@link whenWritable}). */
  private writeWaiters: Array<() => void> = [];
  private pendingAck = 0;
  private ackSent = 0;
  private held: Array<{ data: RawData; isBinary: boolean }> = [];
  private holding = false;
  private goodbyeSent = false;
  private closeInfo: { code: number; reason: string } | undefined;
  private readonly listeners = new DisposerBag();

  constructor(
    readonly ws: TetherSocket,
    private readonly host: ConnectionHost,
    identity: ConnectionIdentity,
  ) {
    this.ip = identity.ip;
    this.user = identity.user;
    this.data = identity.data;
    this.authRequest = identity.request;
    this.welcomeData = identity.welcome;
    this.setTokenExpiry(identity.expiresAt, false);
    const now = host.clock.monotonic();
    this.connectedAt = host.clock.now();
    this.openedAt = now;
    this.lastSeenAt = now;
    const rate = host.options.rateLimit;
    this.bucket = rate
      ? new TokenBucket(rate.perSecond, rate.burst, rate.dropsBeforeClose, now)
      : undefined;
    ws.implicitClose = (code) => this.onImplicitClose(code);
    // Kept for the socket's whole life (not in the bag): ws may report a socket error
    // while closing, and an 'error' without a listener would crash the process.
    ws.on('error', (err) => this.onSocketError(err));
    this.listeners.add(
      listen(ws, 'message', (data: RawData, isBinary: boolean) => this.onMessage(data, isBinary)),
    );
    this.listeners.add(listen(ws, 'pong', () => this.onPong()));
    this.listeners.add(listen(ws, 'ping', () => this.seen()));
    this.listeners.add(
      listen(ws, 'close', (code: number, reason: Buffer) => this.onClose(code, reason)),
    );
  }

  get path(): string {
    return this.host.path;
  }

  get state(): ConnectionState {
    return this.current;
  }

  get sessionId(): string | undefined {
    return this.session?.id;
  }

  /**
   * Tail of the chain that keeps handlers in order. Once welcomed it is the session's,
   * so handlers stay in order across the connections of a session (a resumed client's
   * messages wait for those still running from its previous connection).
   */
  get serialTail(): Promise<void> | undefined {
    return this.session === undefined ? this.ownTail : this.session.serialTail;
  }

  set serialTail(tail: Promise<void> | undefined) {
    if (this.session === undefined) this.ownTail = tail;
    else this.session.serialTail = tail;
  }

  /** Bytes held for this client: unsent by the socket plus queued for the next write. */
  get pendingBytes(): number {
    return this.ws.bufferedAmount + this.queuedBytes;
  }

  /** Whether `bytes` more may be queued by a replay (which leaves half the limit to live traffic). */
  roomFor(bytes: number): boolean {
    const pending = this.pendingBytes;
    return pending === 0 || pending + bytes <= this.host.options.slowConsumerBytes / 2;
  }

  /**
   * Resolves after the next write completed or the connection closed, with whether it is
   * still open. A replay calls it while {@link roomFor} says no, and checks again.
   */
  whenWritable(): Promise<boolean> {
    if (this.current !== 'open' || this.closeInfo !== undefined) return Promise.resolve(false);
    return new Promise((resolve) => {
      this.writeWaiters.push(() =>
        resolve(this.current === 'open' && this.closeInfo === undefined),
      );
    });
  }

  /**
   * Sets when the connection's token expires and when to ask for a fresh one (see
   * {@link refreshAtFor}); `notify` tells the endpoint's expiry watch.
   */
  setTokenExpiry(expiresAt: number | undefined, notify = true): void {
    this.tokenExpiresAt = expiresAt;
    this.refreshAt =
      expiresAt === undefined
        ? undefined
        : refreshAtFor(expiresAt, this.host.clock.now(), this.host.options.tokenRefreshLeadMs);
    if (notify) this.host.tokenChanged(this);
  }

  /** Sends `refresh` (once per token): the token expires at `tokenExpiresAt`. */
  askForToken(): void {
    const exp = this.tokenExpiresAt;
    this.refreshAt = undefined;
    if (exp === undefined) return;
    this.enqueue({ t: 'refresh', exp, within: Math.max(0, exp - this.host.clock.now()) });
  }

  /** The one place the state changes. */
  transition(to: ConnectionState): void {
    const from = this.current;
    if (from === to || from === 'closed') return;
    this.current = to;
    if (to === 'closing') this.closingSince = this.host.clock.monotonic();
    if (to === 'open')
      this.nextPingAt = this.host.clock.monotonic() + this.host.options.heartbeatIntervalMs;
    this.host.logger.debug({ cid: this.id, from, to }, 'connection state');
  }

  info(): ConnectionInfo {
    const clock = this.host.clock;
    return {
      id: this.id,
      path: this.path,
      ip: this.ip,
      user: this.user,
      sessionId: this.sessionId,
      client: this.client,
      state: this.current,
      connectedAt: this.connectedAt,
      lastSeenAt: Math.round(clock.now() - (clock.monotonic() - this.lastSeenAt)),
      rttMs: this.rttMs,
      messagesIn: this.messagesIn,
      messagesOut: this.messagesOut,
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
      errors: this.errors,
      bufferedBytes: this.pendingBytes,
    };
  }

  send(data: Json): boolean {
    // Validate before the state check, so a bad payload is an error whatever the state.
    const encoded = encodeData(data, (message) => new DeliveryError('INVALID_PAYLOAD', message));
    if (this.current !== 'open' || this.drainClose !== undefined) return false;
    return this.sendEncoded(`{"t":"msg","data":${encoded}}`);
  }

  close(code: number = CloseCode.NORMAL, reason = '', retryAfterMs?: number): void {
    if (!isSendableCloseCode(code))
      throw new RangeError(`close code ${code} cannot be sent by a server`);
    this.closeWith(code, reason, retryAfterMs);
  }

  /** Queues one frame. */
  enqueue(frame: ServerFrame): void {
    this.sendEncoded(encodeFrame(frame));
  }

  /**
   * Queues an already encoded frame (a topic publication encoded once for everyone);
   * `bytes` is its UTF-8 length when the caller knows it. Returns false when it was not
   * queued: the connection is closing, or the frame would push what is held for the
   * client past `slowConsumerBytes`, which closes the connection as a slow consumer.
   */
  sendEncoded(encoded: string, bytes = Buffer.byteLength(encoded)): boolean {
    if (this.current === 'closing' || this.current === 'closed') return false;
    const pending = this.pendingBytes;
    if (pending > 0 && pending + bytes > this.host.options.slowConsumerBytes) {
      this.host.slowConsumer(this, pending + bytes);
      return false;
    }
    this.push(encoded, bytes);
    return true;
  }

  private push(encoded: string, bytes: number): void {
    this.queue.push(encoded);
    this.queuedBytes += bytes;
    const { maxMessageBytes, slowConsumerBytes } = this.host.options;
    if (
      this.queuedBytes >= Math.min(maxMessageBytes, slowConsumerBytes / 4) &&
      this.current === 'open'
    ) {
      // A full batch is waiting: write it now rather than at the end of the tick, so a
      // burst within one tick reaches the kernel and only a client that really stops
      // reading shows up as unsent bytes.
      this.host.flusher.forget(this);
      this.flush();
    } else if (this.queue.length === 1) {
      this.host.flusher.mark(this);
    }
  }

  /** Queues an error frame; the connection stays open. */
  sendError(frame: ErrorFrame): void {
    this.errors += 1;
    this.host.counters.errors += 1;
    this.enqueue(frame);
  }

  /**
   * Schedules a cumulative ack; several in one tick leave as one `ack` frame. `again`
   * re-sends an ack already sent (the client resent a message: its ack was lost).
   */
  ack(seq: number, again = false): void {
    if (seq > this.pendingAck) this.pendingAck = seq;
    else if (again) this.ackSent = Math.min(this.ackSent, seq - 1);
    else return;
    // Acks ride along with any frame written before the delay ends.
    if (this.pendingAck - this.ackSent >= this.host.options.ackEvery) this.host.flusher.mark(this);
    else this.host.acks.mark(this);
  }

  /** Writes everything queued: one WebSocket message per batch of up to `maxBatch` frames. */
  flush(): void {
    let queuedBytes = this.queuedBytes;
    if (this.pendingAck > this.ackSent && this.current !== 'closed') {
      this.ackSent = this.pendingAck;
      const ack = encodeFrame({ t: 'ack', seq: this.pendingAck });
      this.queue.push(ack);
      queuedBytes += ack.length; // ASCII
    }
    const frames = this.queue;
    if (frames.length === 0) return;
    this.queue = [];
    this.queuedBytes = 0;
    if (this.ws.readyState !== TetherSocket.OPEN) return;
    const { maxBatch, maxMessageBytes } = this.host.options;
    try {
      for (const batch of batches(frames, maxBatch, maxMessageBytes)) {
        // The callback runs once the bytes reached the kernel: replays waiting for room go on.
        this.ws.send(batch.message, this.written);
        // The frames' UTF-8 bytes are counted already; one batch of all of them (the usual
        // case) adds only `[`, `]` and commas, so the message need not be measured again.
        const bytes =
          batch.frames === frames.length
            ? queuedBytes + (frames.length > 1 ? frames.length + 1 : 0)
            : Buffer.byteLength(batch.message);
        this.messagesOut += batch.frames;
        this.bytesOut += bytes;
        this.host.counters.messagesOut += batch.frames;
        this.host.counters.bytesOut += bytes;
      }
    } catch (err) {
      this.host.logger.error(
        { cid: this.id, err: err instanceof Error ? err.message : String(err) },
        'send failed',
      );
      this.ws.terminate();
    }
  }

  private readonly written = (): void => {
    if (this.writeWaiters.length === 0) return;
    const waiters = this.writeWaiters;
    this.writeWaiters = [];
    for (const wake of waiters) wake();
  };

  /** Sends `goodbye` now without closing (graceful shutdown waits for handlers first). */
  sendGoodbye(code: number, reason: string, retryAfterMs?: number): void {
    if (this.goodbyeSent || this.current === 'closing' || this.current === 'closed') return;
    this.goodbyeSent = true;
    const goodbye: GoodbyeFrame = { t: 'goodbye', code, reason };
    if (retryAfterMs !== undefined) goodbye.retryAfter = Math.max(0, Math.round(retryAfterMs));
    // Past the slow-consumer check: a closing connection still says why.
    const encoded = encodeFrame(goodbye);
    this.push(encoded, Buffer.byteLength(encoded));
  }

  /**
   * Server-initiated close: `goodbye` (unless sent already), everything queued, then the
   * close frame. With `terminate` the socket is destroyed right after (a half-open link
   * would never answer the close handshake).
   */
  closeWith(code: number, reason: string, retryAfterMs?: number, terminate = false): void {
    if (this.closeInfo !== undefined || this.current === 'closing' || this.current === 'closed') {
      if (terminate) this.ws.terminate();
      return;
    }
    this.closeInfo = { code, reason };
    this.sendGoodbye(code, reason, retryAfterMs);
    this.startClosing();
    this.ws.implicitClose = undefined;
    this.ws.close(code, truncateReason(reason));
    if (terminate) this.ws.terminate();
  }

  /** Destroys the socket without a close handshake. */
  terminate(): void {
    this.ws.terminate();
  }

  /** Sends a WebSocket ping and an app `ping` (for clients that cannot see protocol pings). */
  ping(now: number): void {
    this.nextPingAt = now + this.host.options.heartbeatIntervalMs;
    this.pingSentAt = now;
    this.ws.ping();
    this.enqueue({ t: 'ping', ts: this.host.clock.now() });
  }

  /** Records an RTT measured from an app `pong` echoing our `ts`. */
  recordRtt(rttMs: number): void {
    if (rttMs < 0 || rttMs >= 600_000) return;
    this.rttMs = rttMs;
    this.host.rttMeasured(this, rttMs);
  }

  /** Stops routing inbound messages until {@link release} (an asynchronous hello is pending). */
  hold(): void {
    this.holding = true;
  }

  /** Routes the messages held since {@link hold}, in order. */
  release(): void {
    this.holding = false;
    while (!this.holding && this.held.length > 0 && this.current !== 'closed') {
      const next = this.held.shift() as { data: RawData; isBinary: boolean };
      this.host.route(this, next.data, next.isBinary);
    }
  }

  private seen(): void {
    this.lastSeenAt = this.host.clock.monotonic();
  }

  private onMessage(data: RawData, isBinary: boolean): void {
    this.seen();
    const bytes = rawLength(data);
    this.bytesIn += bytes;
    this.host.counters.bytesIn += bytes;
    if (this.holding) {
      if (this.held.length >= MAX_HELD_MESSAGES) {
        this.closeWith(CloseCode.POLICY_VIOLATION, 'too many messages before welcome', 1000);
        return;
      }
      this.held.push({ data, isBinary });
      return;
    }
    this.host.route(this, data, isBinary);
  }

  private onPong(): void {
    this.seen();
    if (this.pingSentAt !== undefined) {
      this.recordRtt(this.host.clock.monotonic() - this.pingSentAt);
      this.pingSentAt = undefined;
    }
  }

  private onImplicitClose(code: number): string {
    const reason =
      code === CloseCode.MESSAGE_TOO_BIG
        ? `message too big (limit ${this.host.options.maxMessageBytes} bytes)`
        : (IMPLICIT_CLOSE_REASONS[code] ?? 'protocol error');
    this.closeInfo = { code, reason };
    if (code === CloseCode.MESSAGE_TOO_BIG) {
      this.sendError({ t: 'error', code: ErrorCode.TOO_BIG, message: reason });
    }
    this.sendGoodbye(code, reason);
    this.startClosing();
    return reason;
  }

  /** Writes what is queued (goodbye last), stops scheduled writes and wakes waiting replays. */
  private startClosing(): void {
    this.flush();
    this.host.flusher.forget(this);
    this.host.acks.forget(this);
    this.transition('closing');
    this.written();
  }

  private onSocketError(err: Error): void {
    // ws reports its own rejections (1009, 1007, 1002) here too; those are the client's fault.
    const code = (err as Error & { code?: string }).code;
    if (typeof code === 'string' && code.startsWith('WS_ERR_')) {
      this.host.logger.info(
        { cid: this.id, ip: this.ip, code },
        'client broke the WebSocket protocol',
      );
      return;
    }
    this.host.logger.info({ cid: this.id, ip: this.ip, err: err.message }, 'socket error');
  }

  private onClose(wsCode: number, wsReason: Buffer): void {
    this.transition('closed');
    this.listeners.dispose();
    this.host.flusher.forget(this);
    this.host.acks.forget(this);
    this.queue = [];
    this.queuedBytes = 0;
    this.held = [];
    this.written();
    const clean = wsCode !== CloseCode.ABNORMAL;
    const event: CloseEvent = this.closeInfo
      ? {
          connection: this,
          code: this.closeInfo.code,
          reason: this.closeInfo.reason,
          clean,
          initiatedBy: 'server',
        }
      : {
          connection: this,
          code: wsCode,
          reason: wsReason.toString('utf8'),
          clean,
          initiatedBy: 'client',
        };
    this.host.closed(this, event);
  }
}

function rawLength(data: RawData): number {
  if (Array.isArray(data)) return data.reduce((sum, b) => sum + b.length, 0);
  return data.byteLength;
}

function truncateReason(reason: string): string {
  if (Buffer.byteLength(reason) <= MAX_REASON_BYTES) return reason;
  let cut = reason.slice(0, MAX_REASON_BYTES);
  while (Buffer.byteLength(cut) > MAX_REASON_BYTES) cut = cut.slice(0, -1);
  return cut;
}
