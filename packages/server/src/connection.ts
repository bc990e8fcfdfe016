import { messageBytes } from '@tether/common';
import {
  CloseCode,
  ErrorCode,
  type ErrorFrame,
  encodeFrame,
  isSendableCloseCode,
  type Json,
  type ServerFrame,
} from '@tether/protocol';
import type { RawData } from 'ws';
import { ConnectionClose, type DrainClose } from './connection-close.js';
import { ConnectionCredentials } from './connection-credentials.js';
import type { ConnectionHost, ConnectionIdentity } from './connection-host.js';
import { logSocketError } from './connection-inbound.js';
import type { ConnectionInfo, ConnectionState, TetherConnection } from './connection-types.js';
import { ConnectionWriter, type WriterOwner } from './connection-writer.js';
import { encodeData } from './encode-data.js';
import { DeliveryError } from './errors.js';
import { ConnectionWork } from './handler-runner.js';
import type { HeartbeatSubject } from './heartbeat.js';
import { replaceForPeer } from './peer-limit.js';
import { randomId } from './random-id.js';
import { TokenBucket } from './rate-limiter.js';
import type { Session } from './session.js';
import { packTime, unpackTime } from './store/packed-time.js';
import type { SocketOwner, TetherSocket } from './tether-socket.js';
import type { ExpiringSubject } from './token-expiry.js';
import type { Subscriber } from './topics.js';

/** Every role a connection plays for the other parts of the server. */
type ConnectionRoles = TetherConnection & Subscriber & HeartbeatSubject & ExpiringSubject;

/**
 * One WebSocket connection: its state, counters, heartbeat timestamps, rate bucket and
 * close path. Writes go through its {@link ConnectionWriter} (queue, batches, acks,
 * slow-consumer check). State changes only in `transition()`; every other field is
 * changed by a method of this class or of its base classes (liveness, inbound, work:
 * one object per connection), never from another file.
 *
 * A frame that would push what is held for the client past `slowConsumerBytes` closes
 * the connection as a slow consumer (4009) instead of being queued; the client resumes
 * and gets what it missed from the store.
 */
export class Connection
  extends ConnectionWork
  implements ConnectionRoles, WriterOwner, SocketOwner
{
  readonly id = randomId(9);
  readonly ip: string;
  /** Wall-clock ms of the upgrade, packed (see store/packed-time.ts). */
  private readonly connected: number;
  readonly bucket: TokenBucket | undefined;
  /** Claims, welcome data, token expiry, `auth` numbering: built when there is any. */
  private creds: ConnectionCredentials | undefined;
  private current: ConnectionState = 'handshake';
  private bound: Session | undefined = undefined;
  private clientInfo: ConnectionInfo['client'] = undefined;
  private errorFrames = 0;
  private subscribed: Set<string> | undefined = undefined;
  readonly writer: ConnectionWriter;
  /** The close path, built when first needed (an idle connection never is). */
  private closePath: ConnectionClose | undefined = undefined;
  readonly ws: TetherSocket;
  private readonly host: ConnectionHost;

  constructor(ws: TetherSocket, host: ConnectionHost, identity: ConnectionIdentity) {
    const now = host.clock.monotonic();
    super(now, host.liveness);
    this.ws = ws;
    this.host = host;
    this.ip = identity.ip;
    this.creds = ConnectionCredentials.of(identity);
    this.writer = new ConnectionWriter(ws, host, this);
    const wall = host.clock.now();
    this.connected = packTime(wall);
    this.creds?.expireAt(identity.expiresAt, wall, host.options.tokenRefreshLeadMs);
    const rate = host.options.rateLimit;
    this.bucket = rate
      ? new TokenBucket(rate.perSecond, rate.burst, rate.dropsBeforeClose, now)
      : undefined;
    // Shared listeners (no closure per connection): the socket calls the socket* methods.
    ws.attach(this);
  }

  /** Wall-clock ms when the upgrade completed. */
  get connectedAt(): number {
    return unpackTime(this.connected);
  }

  /** The user the `authenticate` hook named, if any. */
  get user(): string | undefined {
    return this.creds?.user;
  }

  /** The token's side of the connection; undefined when it has none (see ConnectionCredentials). */
  get credentials(): ConnectionCredentials | undefined {
    return this.creds;
  }

  get path(): string {
    return this.host.path;
  }

  get state(): ConnectionState {
    return this.current;
  }

  get session(): Session | undefined {
    return this.bound;
  }

  get sessionId(): string | undefined {
    return this.bound?.id;
  }

  get client(): ConnectionInfo['client'] {
    return this.clientInfo;
  }

  /** The token's claims; replaced when a refreshed token carries new ones. */
  get data(): Readonly<Record<string, Json>> | undefined {
    return this.creds?.data;
  }

  get tokenExpiresAt(): number | undefined {
    return this.creds?.expiresAt;
  }

  get refreshAt(): number | undefined {
    return this.creds?.refreshAt;
  }

  /** Topics this connection subscribed to (undefined before the first subscribe). */
  get topics(): ReadonlySet<string> | undefined {
    return this.subscribed;
  }

  /** Set by graceful shutdown: the goodbye went out, the close follows when handlers finish. */
  get drainClose(): DrainClose | undefined {
    return this.closePath?.drain;
  }

  /** When the close began (monotonic ms: goodbye + close frame sent), if it did. */
  get closingSince(): number | undefined {
    return this.closePath?.closingSince;
  }

  /** Bytes held for this client: unsent by the socket plus queued for the next write. */
  get pendingBytes(): number {
    return this.writer.pendingBytes;
  }

  /** Whether `bytes` more may be queued by a replay (which leaves half the limit to live traffic). */
  roomFor(bytes: number): boolean {
    return this.writer.roomFor(bytes);
  }

  /** Resolves after the next write or the close, with whether it is still open (see the writer). */
  whenWritable(): Promise<boolean> {
    return this.writer.whenWritable();
  }

  /** Binds the welcomed connection to its session. */
  welcomed(session: Session, client: ConnectionInfo['client']): void {
    this.bound = session;
    this.clientInfo = client;
  }

  /** Remembers a subscribed topic. */
  addTopic(topic: string): void {
    if (this.subscribed === undefined) this.subscribed = new Set();
    this.subscribed.add(topic);
  }

  /** Forgets a topic (unsubscribed or ended); false when it was not subscribed. */
  removeTopic(topic: string): boolean {
    return this.subscribed?.delete(topic) ?? false;
  }

  /** Graceful shutdown sent `goodbye`: the close follows once handlers finish. */
  closeWhenIdle(reason: string, retryAfterMs: number): void {
    this.closer.closeWhenIdle(reason, retryAfterMs);
  }

  /** A refreshed token was accepted: its claims and expiry replace the old ones. */
  refreshed(data: Readonly<Record<string, Json>> | undefined, expiresAt: number | undefined): void {
    const { clock, options } = this.host;
    this.creds ??= new ConnectionCredentials({});
    this.creds.replaceClaims(data);
    this.creds.expireAt(expiresAt, clock.now(), options.tokenRefreshLeadMs);
    this.host.tokenChanged(this);
  }

  /** Sends `refresh` (once per token): the token expires at `tokenExpiresAt`. */
  askForToken(): void {
    const exp = this.creds?.expiresAt;
    this.creds?.refreshSent();
    if (exp === undefined) return;
    this.enqueue({ t: 'refresh', exp, within: Math.max(0, exp - this.host.clock.now()) });
  }

  /** The one place the state changes. */
  transition(to: ConnectionState): void {
    const from = this.current;
    if (from === to || from === 'closed') return;
    this.current = to;
    const now = this.host.clock.monotonic();
    if (to === 'closing' || to === 'closed') this.leftOpen();
    if (to === 'closing') this.closer.closing(now);
    if (to === 'open') this.opened(now, this.host.options.heartbeatIntervalMs);
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
      client: this.clientInfo,
      state: this.current,
      connectedAt: this.connectedAt,
      lastSeenAt: Math.round(clock.now() - (clock.monotonic() - this.lastSeenAt)),
      rttMs: this.rttMs,
      messagesIn: this.messagesIn,
      messagesOut: this.writer.messagesOut,
      bytesIn: this.bytesIn,
      bytesOut: this.writer.bytesOut,
      errors: this.errorFrames,
      bufferedBytes: this.writer.pendingBytes,
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

  /** Queues one frame (or its text); `now`: written at once, after what is queued (the welcome). */
  enqueue(frame: ServerFrame | string, now = false): void {
    this.writer.offer(typeof frame === 'string' ? frame : encodeFrame(frame), undefined, !now);
    if (now) this.writer.flush();
  }

  /** Queues a `res`, written at once when nothing else waits. */
  reply(frame: ServerFrame): void {
    this.writer.reply(encodeFrame(frame));
  }

  /** Queues an encoded frame (a publication encoded once); false when not queued (see the writer). */
  sendEncoded(encoded: string, bytes?: number): boolean {
    return this.writer.offer(encoded, bytes);
  }

  /** Applies the client's `hello.maxMessageBytes` (see peer-limit.ts). */
  limitOutgoing(maxMessageBytes: number | undefined): void {
    this.writer.limitTo(maxMessageBytes);
  }

  /** The write path met a frame larger than the client accepts (see peer-limit.ts). */
  tooBigForPeer(encoded: string, bytes: number, limit: number): boolean {
    return replaceForPeer(this, this.host.logger, { encoded, bytes, limit });
  }

  /** Queues an error frame; the connection stays open. */
  sendError(frame: ErrorFrame): void {
    this.errorFrames += 1;
    this.host.counters.add('errors');
    this.enqueue(frame);
  }

  /** Schedules a cumulative ack (see ConnectionWriter.ack). */
  ack(seq: number, again = false): void {
    this.writer.ack(seq, again);
  }

  /** Writes everything queued now (the endpoint flushes before a close or a drain). */
  flush(): void {
    this.writer.flush();
  }

  /** Sends `goodbye` now without closing (graceful shutdown waits for handlers first). */
  sendGoodbye(code: number, reason: string, retryAfterMs?: number): void {
    this.closer.goodbye(code, reason, retryAfterMs);
  }

  /**
   * Server-initiated close: `goodbye` (unless sent already), everything queued, then the
   * close frame. With `terminate` the socket is destroyed right after (a half-open link
   * would never answer the close handshake).
   */
  closeWith(code: number, reason: string, retryAfterMs?: number, terminate = false): void {
    this.closer.close(code, reason, retryAfterMs, terminate);
  }

  private get closer(): ConnectionClose {
    this.closePath ??= new ConnectionClose(this.ws, this.writer, this);
    return this.closePath;
  }

  /** Whether a close began (for the write path: replays stop waiting). */
  get closeStarted(): boolean {
    return this.closePath?.started ?? false;
  }

  /** The write path refused a frame: what is held would pass `slowConsumerBytes`. */
  slowConsumer(bytes: number): void {
    this.host.slowConsumer(this, bytes);
  }

  terminate(): void {
    this.ws.terminate();
  }

  /** `hello.appPings` (false: the client watches liveness itself; WebSocket pings suffice). */
  probeWith(appPings: boolean | undefined): void {
    this.pingsWith(appPings);
  }

  /** One probe: a WebSocket ping (its pong gives the RTT), and an app `ping` unless appPings is false. */
  ping(now: number): void {
    this.pinged(now, this.host.options.heartbeatIntervalMs);
    this.ws.heartbeat();
    // Built by hand: the same ASCII bytes as `encodeFrame({ t: 'ping', ts })`.
    if (this.appPings) this.writer.offer(`{"t":"ping","ts":${this.host.clock.now()}}`);
  }

  recordRtt(rttMs: number): void {
    if (this.measured(rttMs)) this.host.rttMeasured(this, rttMs);
  }

  /** Stops routing inbound messages until {@link release} (an asynchronous hello is pending). */
  hold(): void {
    this.holdMessages();
  }

  /** Routes the messages held since {@link hold}, in order. */
  release(): void {
    this.releaseHeld(
      (next) => this.host.route(this, next.data, next.isBinary),
      () => this.current !== 'closed',
    );
  }

  socketPing(): void {
    this.touch(this.host.clock.monotonic());
  }

  socketError(err: Error): void {
    logSocketError(this.host.logger, this, err);
  }

  socketMessage(data: RawData, isBinary: boolean): void {
    this.touch(this.host.clock.monotonic());
    const bytes = messageBytes(data);
    this.received(bytes);
    this.host.counters.add('bytesIn', bytes);
    if (this.isHolding) {
      if (!this.keep({ data, isBinary }))
        this.closeWith(CloseCode.POLICY_VIOLATION, 'too many messages before welcome', 1000);
      return;
    }
    this.host.route(this, data, isBinary);
  }

  socketPong(): void {
    const rtt = this.ponged(this.host.clock.monotonic());
    if (rtt !== undefined) this.recordRtt(rtt);
  }

  implicitClose(code: number): string {
    const reason = this.closer.implicit(code, this.host.options.maxMessageBytes);
    if (code === CloseCode.MESSAGE_TOO_BIG) {
      this.sendError({ t: 'error', code: ErrorCode.TOO_BIG, message: reason });
    }
    this.closer.goodbye(code, reason);
    this.closer.startClosing();
    return reason;
  }

  socketClose(wsCode: number, wsReason: Buffer): void {
    this.transition('closed');
    this.ws.detach();
    this.writer.discard();
    this.clearHeld();
    this.host.closed(this, this.closer.event(wsCode, wsReason));
  }
}
