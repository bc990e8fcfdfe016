import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { type Clock, type Disposer, Emitter } from '@tether/common';
import { CloseCode, type Json } from '@tether/protocol';
import { AckScheduler } from './ack-scheduler.js';
import { Connection } from './connection.js';
import type { ConnectionHost, ConnectionIdentity } from './connection-host.js';
import type { ConnectionLiveness } from './connection-liveness.js';
import type {
  CloseEvent,
  MessageHandler,
  RequestHandler,
  ResumeEvent,
  TetherConnection,
} from './connection-types.js';
import { EndpointHandlers } from './endpoint-handlers.js';
import type { Endpoint, EndpointEvents, EndpointShared } from './endpoint-types.js';
import { DeliveryError } from './errors.js';
import type { FlushScheduler } from './flush-scheduler.js';
import { type RouterContext, routeGuarded } from './frame-router.js';
import { type SweepTarget, sweepTickMs } from './heartbeat.js';
import { HeartbeatPass } from './heartbeat-pass.js';
import { LivenessTable } from './liveness-table.js';
import type { Logger } from './logger.js';
import { asOpen } from './message-frames.js';
import type { ResolvedEndpointOptions } from './options.js';
import type { SendResult, SessionGrant } from './session.js';
import { SessionRegistry } from './sessions.js';
import { type EndpointStabilityReport, StabilityWatch } from './stability.js';
import { EndpointCounters, type EndpointStats } from './stats.js';
import type { TetherSocket } from './tether-socket.js';
import { TokenExpiryWatch } from './token-expiry.js';
import type { PublishResult } from './topics.js';
import { type LateRefusal, UpgradeAcceptor } from './upgrade-acceptor.js';
import { WelcomeEncoder } from './welcome-encoder.js';

/** The implementation behind {@link Endpoint}; internal to the package. */
export class TetherEndpoint implements Endpoint, ConnectionHost, SweepTarget {
  readonly counters = new EndpointCounters();
  readonly logger: Logger;
  readonly clock: Clock;
  readonly flusher: FlushScheduler;
  readonly acks: AckScheduler;
  readonly tickMs: number;
  private readonly registry = new Map<string, Connection>();
  readonly liveness = new LivenessTable<ConnectionLiveness>();
  private readonly acceptor: UpgradeAcceptor;
  private readonly handlers = new EndpointHandlers();
  private readonly events: Emitter<EndpointEvents>;
  private readonly sessions: SessionRegistry;
  private readonly router: RouterContext;
  /** One timer for the token deadlines of every connection (refresh, then 4002). */
  private readonly expiry: TokenExpiryWatch<Connection>;
  private readonly stability: StabilityWatch;
  private readonly beats: HeartbeatPass;
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
    this.stability = new StabilityWatch(
      shared.clock,
      {
        heartbeatIntervalMs: options.heartbeatIntervalMs,
        heartbeatTimeoutMs: options.heartbeatTimeoutMs,
        graceMs: this.tickMs,
      },
      (event) => this.events.emit('stale', event),
    );
    this.beats = new HeartbeatPass(
      this.liveness,
      options,
      this.counters,
      this.logger,
      this.stability,
    );
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
      upgraded: (ws, identity, refusal, earlyHello) =>
        this.upgraded(ws, identity, refusal, earlyHello),
      handshakeDone: () => this.checkDrained(),
    });
    const handlers = this.handlers;
    this.router = {
      options,
      clock: shared.clock,
      logger: this.logger,
      counters: this.counters,
      sessions: this.sessions,
      topics: shared.topics,
      welcomes: new WelcomeEncoder(options),
      requestHandler: (method) => handlers.request(method),
      get messageHandler() {
        return handlers.messageHandler;
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
    return this.handlers.handle(method, handler);
  }

  onRequest(handler: RequestHandler): Disposer {
    return this.handlers.onRequest(handler);
  }

  onMessage(handler: MessageHandler): Disposer {
    return this.handlers.onMessage(handler);
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
    this.counters.add('slowConsumers');
    const limit = this.options.slowConsumerBytes;
    this.logger.info({ cid: connection.id, ip: connection.ip, bytes, limit }, 'slow consumer');
    this.events.emit('slowConsumer', { connection, bytes });
    connection.closeWith(CloseCode.SLOW_CONSUMER, `slow consumer: over ${limit} bytes unsent`);
  }

  stabilityReport(): EndpointStabilityReport {
    return this.stability.report(this.stats(), this.registry.values());
  }

  stats(): EndpointStats {
    let ready = 0;
    for (const conn of this.registry.values()) if (conn.state === 'open') ready += 1;
    return this.counters.stats({
      path: this.path,
      connections: this.registry.size,
      ready,
      pendingHandshakes: this.acceptor.pendingCount,
      draining: this.drain !== undefined,
      sessions: this.sessions.size,
    });
  }

  /** Routes one inbound message; an unexpected fault costs an INTERNAL error, never the process. */
  route(
    connection: Connection,
    data: Parameters<ConnectionHost['route']>[1],
    isBinary: boolean,
  ): void {
    routeGuarded(this.router, connection, data, isBinary);
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
    earlyHello: Buffer | undefined,
  ): void {
    const connection = new Connection(ws, this, identity);
    this.registry.set(connection.id, connection);
    this.counters.add('accepted');
    this.shared.heartbeat.wake();
    this.logger.debug({ cid: connection.id, ip: identity.ip }, 'upgraded');
    if (refusal !== undefined) connection.closeWith(refusal.code, refusal.reason);
    // The hello that came with the upgrade: its first message, as if sent as a frame (the
    // 101 is written already, so the welcome follows it).
    else if (earlyHello !== undefined) connection.socketMessage(earlyHello, false);
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
    connection.leaveTable();
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
    this.stability.closed(event);
    this.events.emit('close', event);
    this.checkDrained();
  }

  /** Called by a connection for each RTT measured; free when nobody listens. */
  rttMeasured(connection: Connection, rttMs: number): void {
    if (this.events.listenerCount('rtt') > 0) this.events.emit('rtt', { connection, rttMs });
  }

  private settled(connection: Connection): void {
    const drainClose = connection.drainClose;
    if (drainClose !== undefined && connection.work.inFlight === 0) {
      connection.closeWith(CloseCode.SERVICE_RESTART, drainClose.reason, drainClose.retryAfterMs);
    }
  }

  /** One heartbeat pass (see {@link heartbeatAction}); returns whether anything is left to watch. */
  sweep(now: number, judge: boolean): boolean {
    if (judge) this.acceptor.sweep(now);
    this.beats.run(now, judge);
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
      if (connection.state !== 'open' || connection.work.inFlight === 0) {
        connection.closeWith(CloseCode.SERVICE_RESTART, reason, hint);
      } else {
        connection.closeWhenIdle(reason, hint);
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
