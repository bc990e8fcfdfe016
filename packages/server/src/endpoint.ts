import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { type Clock, type Disposer, Emitter } from '@tether/common';
import { CloseCode, type Json } from '@tether/protocol';
import { AckScheduler } from './ack-scheduler.js';
import { Connection, type ConnectionHost, type ConnectionIdentity } from './connection.js';
import {
  asOpen,
  type CloseEvent,
  type MessageEvent,
  type MessageHandler,
  type OpenConnection,
  type RequestHandler,
  type ResumeEvent,
  type RttEvent,
  type SlowConsumerEvent,
  type TetherConnection,
} from './connection-types.js';
import { DeliveryError } from './errors.js';
import type { FlushScheduler } from './flush-scheduler.js';
import { type RouterContext, routeMessage } from './frame-router.js';
import {
  type HeartbeatSweep,
  heartbeatAction,
  type SweepTarget,
  sweepTickMs,
} from './heartbeat.js';
import type { Logger } from './logger.js';
import type { ResolvedEndpointOptions } from './options.js';
import { type SendResult, type SessionGrant, SessionRegistry } from './sessions.js';
import { EndpointCounters, type EndpointStats } from './stats.js';
import type { Store } from './store/index.js';
import type { TetherSocket } from './tether-socket.js';
import { TokenExpiryWatch } from './token-expiry.js';
import type { PublishResult, Topics } from './topics.js';
import type { TrustedProxies } from './trusted-proxies.js';
import { type LateRefusal, UpgradeAcceptor } from './upgrade-acceptor.js';

/** Events of an endpoint. */
export type EndpointEvents = {
  /** A client completed hello and got welcome: its `sessionId` is set. */
  connection: OpenConnection;
  /** A `msg` frame arrived (also when a message handler is set). */
  message: MessageEvent;
  /** A socket closed (every upgraded socket, also those that never said hello). */
  close: CloseEvent;
  /** A round-trip time was measured (an app `pong` or a WebSocket pong). */
  rtt: RttEvent;
  /** A hello asked to resume a session; says whether it did, and why not. */
  resume: ResumeEvent;
  /** A connection passed `slowConsumerBytes` and is closed with 4009 (it resumes). */
  slowConsumer: SlowConsumerEvent;
};

/** One WebSocket endpoint (a path) of a TetherServer. */
export interface Endpoint {
  readonly path: string;
  /** Options with defaults applied. */
  readonly options: Readonly<ResolvedEndpointOptions>;
  /** Open connections by id (any state). */
  readonly connections: ReadonlyMap<string, TetherConnection>;
  /** Listens to an event; returns the disposer. */
  on<K extends keyof EndpointEvents & string>(
    event: K,
    listener: (payload: EndpointEvents[K]) => void,
  ): Disposer;
  /** Registers the handler of request `method`, replacing an earlier one; returns the disposer. */
  handle(method: string, handler: RequestHandler): Disposer;
  /**
   * Sets the handler of requests whose method has no handler of its own (one per
   * endpoint; the hub forwards them to its backend); returns the disposer.
   */
  onRequest(handler: RequestHandler): Disposer;
  /** Sets the message handler (one per endpoint); returns the disposer. */
  onMessage(handler: MessageHandler): Disposer;
  /**
   * Publishes to a topic (topics are shared by every endpoint of the server). Resolves
   * with the publication's position once the store committed it; its `pub` frame,
   * encoded once, is then queued to every subscriber. Rejects with a `TopicError` for an
   * invalid topic or data that is not JSON, or a `StoreError`.
   */
  publish(topic: string, data: Json): Promise<PublishResult>;
  /**
   * Sends a reliable message to one session: numbered in the session, stored until the
   * client acknowledges it, delivered at once when the client is connected and replayed
   * in order when it resumes within its window. Resolves once stored (not once
   * delivered). Rejects with a `DeliveryError` (`SESSION_NOT_FOUND`: no such session on
   * this endpoint, or its window passed; `INVALID_PAYLOAD`) or a `StoreError`.
   */
  sendTo(sessionId: string, data: Json): Promise<SendResult>;
  /**
   * {@link sendTo} every session of a user (as named by `authenticate`) on this endpoint,
   * connected or within their window. Resolves with one result per session that took it
   * (none when the user has no session).
   */
  sendToUser(userId: string, data: Json): Promise<SendResult[]>;
  stats(): EndpointStats;
}

/** What endpoints of one server share. */
export interface EndpointShared {
  clock: Clock;
  logger: Logger;
  flusher: FlushScheduler;
  heartbeat: HeartbeatSweep;
  topics: Topics;
  store: Store;
  trustProxy: TrustedProxies;
  /** Whether the server has finished closing (its store may be gone). */
  isClosed: () => boolean;
}

/** The implementation behind {@link Endpoint}; internal to the package. */
export class TetherEndpoint implements Endpoint, ConnectionHost, SweepTarget {
  readonly counters = new EndpointCounters();
  readonly logger: Logger;
  readonly clock: Clock;
  readonly flusher: FlushScheduler;
  readonly acks: AckScheduler;
  readonly tickMs: number;
  private readonly registry = new Map<string, Connection>();
  private readonly acceptor: UpgradeAcceptor;
  private readonly handlers = new Map<string, RequestHandler>();
  private anyRequestHandler: RequestHandler | undefined;
  private messageHandler: MessageHandler | undefined;
  private readonly events: Emitter<EndpointEvents>;
  private readonly sessions: SessionRegistry;
  private readonly router: RouterContext;
  /** One timer for the token deadlines of every connection (refresh, then 4002). */
  private readonly expiry: TokenExpiryWatch<Connection>;
  private drain:
    | { reason: string; retryAfterMs: () => number; waiters: Array<() => void> }
    | undefined;

  constructor(
    readonly path: string,
    readonly options: ResolvedEndpointOptions,
    private readonly shared: EndpointShared,
  ) {
    this.logger = shared.logger.child({ endpoint: path });
    this.clock = shared.clock;
    this.flusher = shared.flusher;
    this.acks = new AckScheduler(options.ackDelayMs, shared.flusher, shared.clock);
    this.tickMs = sweepTickMs(options);
    this.expiry = new TokenExpiryWatch<Connection>(shared.clock, (connection, action) => {
      if (action === 'refresh') {
        connection.askForToken();
        return;
      }
      this.expiry.untrack(connection);
      this.logger.info({ cid: connection.id, user: connection.user }, 'token expired, closing');
      connection.closeWith(CloseCode.TOKEN_EXPIRED, 'token expired');
    });
    this.sessions = new SessionRegistry({
      path,
      options,
      clock: shared.clock,
      logger: this.logger,
      counters: this.counters,
      store: shared.store,
    });
    this.events = new Emitter<EndpointEvents>((err) =>
      this.logger.error(
        { err: err instanceof Error ? err.message : String(err) },
        'event listener threw',
      ),
    );
    this.acceptor = new UpgradeAcceptor({
      path,
      options,
      clock: shared.clock,
      logger: this.logger,
      counters: this.counters,
      trustProxy: shared.trustProxy,
      drainRetryAfterMs: () => this.drain?.retryAfterMs(),
      waiting: () => shared.heartbeat.wake(),
      upgraded: (ws, identity, refusal) => this.upgraded(ws, identity, refusal),
      handshakeDone: () => this.checkDrained(),
    });
    const self = this;
    this.router = {
      options,
      clock: shared.clock,
      logger: this.logger,
      counters: this.counters,
      sessions: this.sessions,
      topics: shared.topics,
      requestHandler: (method) => this.handlers.get(method) ?? this.anyRequestHandler,
      get messageHandler() {
        return self.messageHandler;
      },
      hasMessageListeners: () => this.events.listenerCount('message') > 0,
      emitMessage: (event) => this.events.emit('message', event),
      ready: (connection, grant) => this.ready(connection, grant),
      settled: (connection) => this.settled(connection),
    };
  }

  get connections(): ReadonlyMap<string, TetherConnection> {
    return this.registry;
  }

  on<K extends keyof EndpointEvents & string>(
    event: K,
    listener: (payload: EndpointEvents[K]) => void,
  ): Disposer {
    return this.events.on(event, listener);
  }

  handle(method: string, handler: RequestHandler): Disposer {
    if (typeof method !== 'string' || method.length === 0)
      throw new TypeError('handle(method): expected a non-empty string');
    if (typeof handler !== 'function')
      throw new TypeError(`handle("${method}"): expected a function`);
    this.handlers.set(method, handler);
    return () => {
      if (this.handlers.get(method) === handler) this.handlers.delete(method);
    };
  }

  onRequest(handler: RequestHandler): Disposer {
    if (typeof handler !== 'function')
      throw new TypeError('onRequest(handler): expected a function');
    this.anyRequestHandler = handler;
    return () => {
      if (this.anyRequestHandler === handler) this.anyRequestHandler = undefined;
    };
  }

  onMessage(handler: MessageHandler): Disposer {
    if (typeof handler !== 'function')
      throw new TypeError('onMessage(handler): expected a function');
    this.messageHandler = handler;
    return () => {
      if (this.messageHandler === handler) this.messageHandler = undefined;
    };
  }

  publish(topic: string, data: Json): Promise<PublishResult> {
    if (this.shared.isClosed()) return serverClosed();
    return this.shared.topics.publish(topic, data);
  }

  sendTo(sessionId: string, data: Json): Promise<SendResult> {
    if (this.shared.isClosed()) return serverClosed();
    return this.sessions.sendTo(sessionId, data);
  }

  sendToUser(userId: string, data: Json): Promise<SendResult[]> {
    if (this.shared.isClosed()) return serverClosed();
    return this.sessions.sendToUser(userId, data);
  }

  /** A connection passed `slowConsumerBytes`: count it, tell the application, close 4009. */
  slowConsumer(connection: Connection, bytes: number): void {
    this.counters.slowConsumers += 1;
    const limit = this.options.slowConsumerBytes;
    this.logger.info({ cid: connection.id, ip: connection.ip, bytes, limit }, 'slow consumer');
    this.events.emit('slowConsumer', { connection, bytes });
    connection.closeWith(CloseCode.SLOW_CONSUMER, `slow consumer: over ${limit} bytes unsent`);
  }

  stats(): EndpointStats {
    const c = this.counters;
    let ready = 0;
    for (const conn of this.registry.values()) if (conn.state === 'open') ready += 1;
    return {
      path: this.path,
      connections: this.registry.size,
      ready,
      pendingHandshakes: this.acceptor.pendingCount,
      accepted: c.accepted,
      refused: { ...c.refused },
      closes: { ...c.closes },
      heartbeatTimeouts: c.heartbeatTimeouts,
      handshakeTimeouts: c.handshakeTimeouts,
      slowConsumers: c.slowConsumers,
      rateLimited: c.rateLimited,
      messagesIn: c.messagesIn,
      messagesOut: c.messagesOut,
      bytesIn: c.bytesIn,
      bytesOut: c.bytesOut,
      errors: c.errors,
      inFlight: c.inFlight,
      draining: this.drain !== undefined,
      ...c.deliveryStats(this.sessions.size),
    };
  }

  /** Routes one inbound message; an unexpected fault costs an INTERNAL error, never the process. */
  route(
    connection: Connection,
    data: Parameters<ConnectionHost['route']>[1],
    isBinary: boolean,
  ): void {
    try {
      routeMessage(this.router, connection, data, isBinary);
    } catch (err) {
      this.logger.error(
        { cid: connection.id, err: err instanceof Error ? err.message : String(err) },
        'frame handling failed',
      );
      connection.sendError({
        t: 'error',
        code: 'INTERNAL',
        message: 'the server failed to handle the message',
      });
    }
  }

  /** A connection's token deadlines changed (a refresh was accepted). */
  tokenChanged(connection: Connection): void {
    if (connection.state === 'open') this.expiry.track(connection);
  }

  /** Entry point of the upgrade router for this path. */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.acceptor.handle(request, socket, head);
  }

  private upgraded(
    ws: TetherSocket,
    identity: ConnectionIdentity,
    refusal: LateRefusal | undefined,
  ): void {
    const connection = new Connection(ws, this, identity);
    this.registry.set(connection.id, connection);
    this.counters.accepted += 1;
    this.shared.heartbeat.wake();
    this.logger.debug({ cid: connection.id, ip: identity.ip }, 'upgraded');
    if (refusal !== undefined) connection.closeWith(refusal.code, refusal.reason);
  }

  private ready(connection: Connection, grant: SessionGrant): void {
    // Watched from the welcome on: a refresh frame needs an open connection.
    this.expiry.track(connection);
    this.logger.debug(
      { cid: connection.id, sid: connection.sessionId, resumed: grant.resumed },
      'welcomed',
    );
    if (grant.requested !== undefined) {
      const event: ResumeEvent = {
        connection,
        sessionId: grant.session.id,
        requestedSessionId: grant.requested,
        resumed: grant.resumed,
      };
      if (grant.reason !== undefined) {
        event.reason = grant.reason;
        this.logger.info(
          { cid: connection.id, requested: grant.requested, reason: grant.reason },
          'resume failed, new session',
        );
      }
      this.events.emit('resume', event);
    }
    this.events.emit('connection', asOpen(connection));
  }

  /** Called by a connection when its socket closed. */
  closed(connection: Connection, event: CloseEvent): void {
    this.registry.delete(connection.id);
    this.expiry.untrack(connection);
    this.acceptor.release(connection.ip);
    if (connection.topics !== undefined)
      this.shared.topics.unsubscribeAll(connection, connection.topics);
    if (connection.session !== undefined) this.sessions.detach(connection.session, connection.id);
    this.counters.countClose(event.code);
    const normal =
      event.code === CloseCode.NORMAL ||
      event.code === CloseCode.GOING_AWAY ||
      (event.code === CloseCode.SERVICE_RESTART && event.initiatedBy === 'server');
    const context = {
      cid: connection.id,
      code: event.code,
      clean: event.clean,
      by: event.initiatedBy,
    };
    if (normal) this.logger.debug(context, 'connection closed');
    else this.logger.info(context, 'connection closed abnormally');
    this.events.emit('close', event);
    this.checkDrained();
  }

  /** Called by a connection for each RTT measured; free when nobody listens. */
  rttMeasured(connection: Connection, rttMs: number): void {
    if (this.events.listenerCount('rtt') > 0) this.events.emit('rtt', { connection, rttMs });
  }

  private settled(connection: Connection): void {
    const drainClose = connection.drainClose;
    if (drainClose !== undefined && connection.inFlight === 0) {
      connection.closeWith(CloseCode.SERVICE_RESTART, drainClose.reason, drainClose.retryAfterMs);
    }
  }

  /** One heartbeat pass (see {@link heartbeatAction}); returns whether anything is left to watch. */
  sweep(now: number, judge: boolean): boolean {
    if (judge) this.acceptor.sweep(now);
    for (const connection of this.registry.values()) {
      const action = heartbeatAction(connection, now, this.options);
      if (!judge && action !== 'ping') continue;
      switch (action) {
        case 'ping':
          connection.ping(now);
          break;
        case 'heartbeat-timeout':
          this.counters.heartbeatTimeouts += 1;
          this.logger.info(
            { cid: connection.id, ip: connection.ip },
            'heartbeat timeout (half-open), terminating',
          );
          connection.closeWith(CloseCode.HEARTBEAT_TIMEOUT, 'heartbeat timeout', undefined, true);
          break;
        case 'handshake-timeout':
          this.counters.handshakeTimeouts += 1;
          this.logger.info({ cid: connection.id, ip: connection.ip }, 'no hello in time');
          connection.closeWith(
            CloseCode.HANDSHAKE_TIMEOUT,
            `no hello within ${this.options.handshakeTimeoutMs} ms`,
          );
          break;
        case 'terminate':
          connection.terminate();
          break;
        default:
          break;
      }
    }
    return this.registry.size > 0 || this.acceptor.pendingCount > 0;
  }

  /**
   * Graceful shutdown, step 1: refuse new upgrades (503), send every client `goodbye`
   * (1012, `retryAfter` from `retryAfterMs()`, jittered per client), and close each as
   * soon as its in-flight handlers are done.
   */
  beginDrain(reason: string, retryAfterMs: () => number): void {
    if (this.drain !== undefined) return;
    this.drain = { reason, retryAfterMs, waiters: [] };
    for (const connection of this.registry.values()) {
      const hint = retryAfterMs();
      if (connection.state !== 'open' || connection.inFlight === 0) {
        connection.closeWith(CloseCode.SERVICE_RESTART, reason, hint);
      } else {
        connection.drainClose = { reason, retryAfterMs: hint };
        connection.sendGoodbye(CloseCode.SERVICE_RESTART, reason, hint);
      }
    }
  }

  /** Resolves when no socket and no pending handshake is left (after {@link beginDrain}). */
  drained(): Promise<void> {
    const drain = this.drain;
    if (drain === undefined) return Promise.reject(new Error('drained() before beginDrain()'));
    if (this.registry.size === 0 && this.acceptor.pendingCount === 0) return Promise.resolve();
    return new Promise((resolve) => drain.waiters.push(resolve));
  }

  /** Graceful shutdown, last step: destroy what is left and refuse pending handshakes. */
  terminateAll(): void {
    this.acceptor.settleAll();
    for (const connection of this.registry.values()) {
      connection.closeWith(
        CloseCode.SERVICE_RESTART,
        this.drain?.reason ?? 'server shut down',
        undefined,
        true,
      );
    }
  }

  /** Resolves once no session write is on its way to the store (shutdown, before closing it). */
  idle(): Promise<void> {
    return this.sessions.idle();
  }

  /** Releases the ws server (no sockets are left by then) and the timers. */
  dispose(): void {
    this.acceptor.close();
    this.acks.stop();
    this.expiry.stop();
    this.sessions.dispose();
    this.events.removeAllListeners();
  }

  private checkDrained(): void {
    const drain = this.drain;
    if (drain === undefined || this.registry.size > 0 || this.acceptor.pendingCount > 0) return;
    const waiters = drain.waiters.splice(0);
    for (const resolve of waiters) resolve();
  }
}

/** The rejection of API calls made after the server closed. */
function serverClosed(): Promise<never> {
  return Promise.reject(new DeliveryError('SERVER_CLOSED', 'the server is closed'));
}
