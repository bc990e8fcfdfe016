import { type Clock, DisposerBag, TetherError, Timer } from '@tether/common';
import {
  type ClientFrame,
  CloseCode,
  closeCodeInfo,
  type Decoded,
  decodeMessage,
  PROTOCOL_DEFAULTS,
  type ServerFrame,
  type WelcomeFrame,
} from '@tether/protocol';
import { ClientEvents } from './client-events.js';
import { watchEnvironment } from './environment.js';
import {
  ClientClosedError,
  ConnectionLostError,
  FinalCloseError,
  ReconnectExhaustedError,
  type SequenceGapError,
  ServerProtocolError,
  TokenProviderError,
} from './errors.js';
import { FrameHandler } from './frame-handler.js';
import { handshakeFor, isToken, readToken } from './handshake.js';
import { Heartbeat } from './heartbeat.js';
import { Inbox } from './inbox.js';
import type { ResolvedOptions } from './options.js';
import { Outbox } from './outbox.js';
import {
  closeCodeForHttpStatus,
  parseRetryAfter,
  retryAfterFromReason,
} from './reconnect-policy.js';
import { PendingRequests } from './requests.js';
import { RetryScheduler } from './retry-scheduler.js';
import { SessionKeeper } from './session.js';
import { SocketConnection } from './socket.js';
import { type ConnectionState, canTransition } from './states.js';
import { StatsTracker } from './stats.js';
import { Subscriptions } from './subscriptions.js';
import { Transmitter } from './transmitter.js';

/** Why the client is in `closed`. */
export type StopCause = { by: 'client' } | { by: 'server' | 'exhausted'; error: TetherError };

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

/**
 * The connection's life: the state machine, numbered attempts, the
 * handshake, classification of every close by the protocol's close-code
 * table, backoff, the circuit breaker, and the environment's signals.
 * `TetherClient` puts the public API on top.
 */
export abstract class ConnectionLifecycle extends ClientEvents {
  protected readonly clock: Clock;
  protected currentState: ConnectionState = 'idle';
  protected stopCause: StopCause | undefined;
  protected maxMessageBytes: number = PROTOCOL_DEFAULTS.maxMessageBytes;
  protected readonly retry: RetryScheduler;
  protected readonly outbox: Outbox;
  protected readonly inbox: Inbox;
  protected readonly session: SessionKeeper;
  protected readonly subscriptions: Subscriptions;
  protected readonly requests: PendingRequests;
  protected readonly tracker = new StatsTracker();
  protected readonly transmitter: Transmitter;
  /** Numbers every attempt; callbacks of an older attempt compare and do nothing. */
  protected attemptId = 0;
  protected conn: SocketConnection | undefined;
  private ready = false;
  private stable = false;
  /** Effective close code of the last connection (for requests whose reply it took along). */
  private lastCloseCode: number = CloseCode.ABNORMAL;
  private openedAt = 0;
  private closeHint: CloseHint = NO_HINT;
  /** Whether the current attempt's socket opened (the upgrade succeeded). */
  private socketOpened = false;
  /** Attempts in a row whose socket never opened; reset by one that does. */
  private neverOpened = 0;
  private waiters: Array<{ resolve: () => void; reject: (err: unknown) => void }> = [];
  private readonly envListeners = new DisposerBag();
  private readonly connectTimer: Timer;
  private readonly stableTimer: Timer;
  private readonly heartbeat: Heartbeat;
  private readonly frames: FrameHandler;

  constructor(
    /** The server URL (ws: or wss:). */
    readonly url: string,
    protected readonly opts: ResolvedOptions,
  ) {
    super(opts.iteratorBufferSize);
    const clock = opts.clock;
    this.clock = clock;
    this.connectTimer = new Timer('tether.client.connect', clock);
    this.stableTimer = new Timer('tether.client.stable', clock);
    this.retry = new RetryScheduler(opts, clock, () =>
      this.events.emit('breaker', { type: 'breaker', ...this.retry.breaker.snapshot() }),
    );
    this.outbox = new Outbox(opts.maxQueue, opts.maxQueueBytes);
    this.inbox = new Inbox(clock, opts, (seq) => this.transmitter.sendControl({ t: 'ack', seq }));
    this.session = new SessionKeeper(this.inbox, this.outbox);
    this.requests = new PendingRequests(clock, (id) => this.outbox.removeOnce(id));
    this.heartbeat = new Heartbeat(clock, {
      sendPing: (ts) => this.transmitter.sendControl({ t: 'ping', ts }),
      onDead: (silentFor) =>
        this.abortConnection(CloseCode.HEARTBEAT_TIMEOUT, `no traffic for ${silentFor} ms`),
    });
    this.transmitter = new Transmitter(
      clock,
      this.outbox,
      this.requests,
      this.heartbeat,
      this.tracker,
      opts,
    );
    const sendControl = (frame: ClientFrame): void => this.transmitter.sendControl(frame);
    const sequenceGap = (error: SequenceGapError): void => this.sequenceGap(error);
    this.subscriptions = new Subscriptions(
      { events: this.events, sendControl, isReady: () => this.ready, sequenceGap },
      opts,
      clock,
    );
    this.frames = new FrameHandler(
      {
        events: this.events,
        outbox: this.outbox,
        inbox: this.inbox,
        requests: this.requests,
        subscriptions: this.subscriptions,
        transmitter: this.transmitter,
        tracker: this.tracker,
        sendControl,
        isCurrent: (id) => id === this.attemptId && this.ready,
        currentAttempt: () => this.attemptId,
        setCloseHint: (code, retryAfterMs) => {
          this.closeHint = { code, retryAfterMs };
        },
        emitError: (error) => this.emitError(error),
        sequenceGap,
        refreshToken: () => this.refreshToken(),
      },
      opts.onRequest,
      clock,
    );
  }

  protected override streamsEnded(): boolean {
    return this.currentState === 'closed';
  }

  /** A promise settled when the state next becomes `open` (resolve) or `closed` (reject). */
  protected untilOpen(): Promise<void> {
    return new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** The one place the state changes; emits `{from, to}`. */
  protected transition(to: ConnectionState, reason: string): void {
    const from = this.currentState;
    if (from === to) return;
    if (!canTransition(from, to)) {
      throw new TetherError(
        'INTERNAL',
        `tether client: no transition ${from} -> ${to} (${reason})`,
      );
    }
    this.currentState = to;
    this.events.emit('state', { type: 'state', from, to, reason, at: this.clock.now() });
    if (this.currentState === 'open') this.settleWaiters(undefined);
    if (this.currentState === 'closed') {
      const cause = this.stopCause;
      this.settleWaiters(this.stopError());
      this.subscriptions.closeAll(
        cause && cause.by !== 'client' ? cause.error.code : 'client closed',
      );
      this.endStreams();
    }
  }

  /** Why calls fail in `closed`: the error that stopped the client, or CLIENT_CLOSED after `close()`. */
  protected stopError(): TetherError {
    const cause = this.stopCause;
    return cause && cause.by !== 'client' ? cause.error : new ClientClosedError();
  }

  /** Starts a new attempt with fresh counters (from `idle` or `closed`). */
  protected start(): void {
    this.stopCause = undefined;
    this.retry.reset();
    this.followEnvironment();
    this.attempt('connect');
  }

  /** Starts attempt number `attemptId + 1`, unless the device is offline. */
  private attempt(reason: string): void {
    this.retry.cancel();
    if (!this.opts.environment.onLine) {
      // No attempt while offline; the 'online' event starts one at once.
      this.transition('reconnecting', 'offline');
      return;
    }
    const id = ++this.attemptId;
    this.tracker.attempts += 1;
    this.ready = false;
    this.stable = false;
    this.closeHint = NO_HINT;
    this.transition('connecting', reason);
    if (id !== this.attemptId) return;
    this.connectTimer.start(this.opts.connectTimeoutMs, () =>
      this.abortConnection(CloseCode.CONNECT_TIMEOUT, 'connect timeout'),
    );
    let token: string | undefined | Promise<string>;
    try {
      token = readToken(this.opts.token);
    } catch (err) {
      this.tokenFailed(id, err);
      return;
    }
    if (token === undefined || typeof token === 'string') {
      this.openSocket(id, token);
      return;
    }
    Promise.resolve(token).then(
      (value) => this.openSocket(id, value),
      (err: unknown) => this.tokenFailed(id, err),
    );
  }

  /**
   * The server asked for a fresh token before the connection's expires: ask the provider
   * and send it in an `auth` frame on the same connection. A fixed token has nothing
   * fresher to offer: the server closes with 4002 at expiry and the reconnect decides. A
   * provider failure is reported and the connection stays until then.
   */
  private refreshToken(): void {
    const source = this.opts.token;
    if (typeof source !== 'function') return;
    const id = this.attemptId;
    const send = (token: unknown): void => {
      if (id !== this.attemptId || !this.ready) return;
      if (!isToken(token)) {
        this.emitError(
          new TokenProviderError(new TypeError('the token provider returned no token')),
        );
        return;
      }
      this.transmitter.sendControl({ t: 'auth', token });
    };
    const failed = (err: unknown): void => {
      if (id === this.attemptId) this.emitError(new TokenProviderError(err));
    };
    let token: string | undefined | Promise<string>;
    try {
      token = readToken(source);
    } catch (err) {
      failed(err);
      return;
    }
    if (token === undefined || typeof token === 'string') send(token);
    else Promise.resolve(token).then(send, failed);
  }

  private tokenFailed(id: number, err: unknown): void {
    if (id !== this.attemptId) return;
    this.emitError(new TokenProviderError(err));
    // An error listener may have called close(): check again.
    if (id === this.attemptId) {
      this.connectionEnded(CloseCode.ABNORMAL, 'token provider failed', false);
    }
  }

  private openSocket(id: number, token: string | undefined): void {
    if (id !== this.attemptId || this.currentState !== 'connecting') return;
    if (token !== undefined && !isToken(token)) {
      this.tokenFailed(id, new TypeError('the token provider returned no token'));
      return;
    }
    const { protocols, init } = handshakeFor(token, this.opts.authVia);
    // Every callback checks its attempt number: an older socket's events do nothing.
    const current = (): boolean => id === this.attemptId;
    try {
      const conn = new SocketConnection(this.opts.WebSocket, this.url, protocols, init, {
        onOpen: () => {
          if (current()) this.onSocketOpen();
        },
        onText: (text) => {
          if (current()) this.onText(id, text);
        },
        onBinary: () => {
          if (current())
            this.emitError(new ServerProtocolError('binary message: Tether v1 is JSON text only'));
        },
        onHttpRefusal: (status, retryAfter, body) => {
          if (!current()) return;
          const retryAfterMs = parseRetryAfter(retryAfter, this.clock.now());
          const reason = `HTTP ${status}${body === '' ? '' : ` ${body}`}`;
          this.closeHint = { code: closeCodeForHttpStatus(status), retryAfterMs, reason, status };
        },
        onClose: (code, reason, wasClean) => {
          if (current()) this.connectionEnded(code, reason, wasClean);
        },
      });
      this.conn = conn;
      this.transmitter.attach(conn);
    } catch (err) {
      const message = `could not create the WebSocket: ${String(err)}`;
      this.emitError(new TetherError('SOCKET_FAILED', message, { cause: err, retryable: true }));
      if (current()) this.connectionEnded(CloseCode.ABNORMAL, 'socket constructor failed', false);
    }
  }

  private onSocketOpen(): void {
    this.socketOpened = true;
    this.neverOpened = 0;
    this.transmitter.sendControl(this.session.hello(this.opts.client));
  }

  private onText(id: number, text: string): void {
    this.heartbeat.received();
    let results: Decoded<ServerFrame>[];
    try {
      results = decodeMessage(text, 'server');
    } catch (err) {
      this.emitError(
        new ServerProtocolError(`undecodable message from the server: ${String(err)}`, err),
      );
      return;
    }
    for (const result of results) {
      if (id !== this.attemptId) return;
      if (!result.ok) this.emitError(new ServerProtocolError(result.error.message, result.error));
      else if (result.frame.t === 'welcome') this.onWelcome(id, result.frame);
      else this.frames.handle(result.frame);
    }
  }

  private onWelcome(id: number, welcome: WelcomeFrame): void {
    if (this.currentState !== 'connecting' || this.ready) return;
    this.connectTimer.clear();
    this.ready = true;
    const { event, processedRequests } = this.session.welcome(welcome);
    // Processed by the server, but their replies were on the connection that dropped.
    for (const requestId of processedRequests)
      this.requests.reject(requestId, new ConnectionLostError(this.lastCloseCode, true));
    this.maxMessageBytes = welcome.limits.maxMessageBytes;
    this.heartbeat.start(welcome.hb.interval, welcome.hb.timeout);
    this.openedAt = this.clock.monotonic();
    this.tracker.opened(this.openedAt);
    this.stable = false;
    this.stableTimer.start(this.opts.minUptimeMs, () => this.markStable());
    this.retry.connected();
    // What waited in the outbox goes first, then the subscriptions, before anything an
    // 'open' listener sends. The application hears about the session before any message of it.
    this.events.emit('session', event);
    if (id !== this.attemptId) return;
    this.transmitter.open(welcome.limits.rate, welcome.limits.burst);
    this.subscriptions.opened();
    if (id !== this.attemptId) return;
    this.transition('open', 'welcome');
    if (id !== this.attemptId) return;
    this.events.emit('open', {
      type: 'open',
      sessionId: welcome.sid,
      connectionId: welcome.cid,
      resumed: welcome.resumed,
      resumeFailure: welcome.reason,
      attempt: id,
      welcomeData: welcome.data,
    });
  }

  private markStable(): void {
    if (this.stable) return;
    this.stable = true;
    this.retry.stable();
  }

  /** The server skipped a number: report it, drop the socket and resume (with backoff). */
  private sequenceGap(error: SequenceGapError): void {
    this.emitError(error);
    if (this.conn) this.abortConnection(CloseCode.INTERNAL_ERROR, error.message.slice(0, 120));
  }

  /** Gives up on the current socket at once (heartbeat, connect timeout): no close handshake. */
  private abortConnection(code: number, reason: string): void {
    const conn = this.conn;
    this.connectionEnded(code, reason, false);
    // 4012 is client-side only; on the wire the socket just closes normally.
    conn?.abort(code === CloseCode.CONNECT_TIMEOUT ? CloseCode.NORMAL : code, reason);
  }

  /** The current attempt is over: classify by the close-code table, then stop or retry. */
  private connectionEnded(socketCode: number, reason: string, wasClean: boolean): void {
    const wasOpen = this.currentState === 'open';
    this.detachConnection();
    this.attemptId += 1;
    const opened = this.socketOpened;
    this.socketOpened = false;
    const mono = this.clock.monotonic();
    if (wasOpen) {
      // The stable timer may have been throttled: trust the clock.
      if (mono - this.openedAt >= this.opts.minUptimeMs) this.markStable();
      this.tracker.ended(mono);
    }
    const hint = this.closeHint;
    const abnormal = socketCode === CloseCode.NO_STATUS || socketCode === CloseCode.ABNORMAL;
    const code = abnormal && hint.code !== undefined ? hint.code : socketCode;
    if (abnormal && reason === '' && hint.reason !== undefined) reason = hint.reason;
    const httpStatus = abnormal ? hint.status : undefined;
    const retryAfterMs = hint.retryAfterMs ?? retryAfterFromReason(reason);
    if (wasOpen) this.tracker.recordDrop(code, mono);
    this.lastCloseCode = code;
    this.requests.failSent((processed) => new ConnectionLostError(code, processed));
    const info = closeCodeInfo(code);
    const decision =
      info.action === 'stop'
        ? undefined
        : this.retry.ended(!this.stable, code, info.action, retryAfterMs);
    const willReconnect = decision !== undefined && decision.kind !== 'exhausted';
    this.events.emit('close', { type: 'close', code, reason, wasClean, willReconnect, info });
    if (!opened) this.countNeverOpened(code);
    if (this.stopCause?.by === 'client') return; // close() from a listener
    if (decision === undefined) {
      this.stop('server', new FinalCloseError(info, reason, httpStatus));
    } else if (decision.kind === 'exhausted') {
      this.stop('exhausted', new ReconnectExhaustedError(decision.attempts, code));
    } else if (decision.kind === 'circuit-open') {
      this.transition('circuit-open', `${decision.failures} failed attempts`);
      this.retry.scheduleProbe(() => this.attempt('probe'));
    } else if (decision.kind === 'offline') {
      // No timer while offline: the 'online' event makes the attempt at once.
      this.transition('reconnecting', 'offline');
    } else {
      this.transition('reconnecting', `close ${code}`);
      const { attempt, delayMs, plan } = decision;
      this.events.emit('retry', {
        type: 'retry',
        attempt,
        delayMs,
        kind: plan,
        closeCode: code,
        retryAfterMs,
      });
      if (this.currentState === 'reconnecting')
        this.retry.schedule(delayMs, () => this.attempt('retry'));
    }
  }

  /**
   * Browsers hide why an upgrade failed (404, 403 and a dead host all read 1006), so
   * a streak of attempts that never opened is reported once, with what to check.
   */
  private countNeverOpened(code: number): void {
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

  /** Stops reconnecting for good (until `connect()`); queued sends stay queued. */
  private stop(by: 'server' | 'exhausted', error: TetherError): void {
    this.stopCause = { by, error };
    this.teardown();
    for (const id of this.outbox.removeOnceEntries()) this.requests.reject(id, error);
    this.requests.rejectAll(error);
    this.transition('closed', error.code);
    // A normal close (1000) is why the client stopped, not an error.
    if (error.code !== 'NORMAL') this.emitError(error);
  }

  /** Forgets the current socket: its events no longer reach the client. */
  protected detachConnection(): void {
    this.conn?.dispose();
    this.conn = undefined;
    this.ready = false;
    this.transmitter.detach();
    this.connectTimer.clear();
    this.stableTimer.clear();
    this.heartbeat.stop();
    this.inbox.connectionEnded();
    this.subscriptions.connectionEnded();
  }

  /** Cancels every timer and environment listener. */
  protected teardown(): void {
    this.detachConnection();
    this.retry.cancel();
    this.envListeners.dispose();
  }

  private followEnvironment(): void {
    if (this.envListeners.size > 0) return;
    const env = this.opts.environment;
    this.envListeners.add(
      watchEnvironment(env, {
        online: () => {
          if (this.currentState === 'reconnecting') this.attempt('online');
          else if (this.currentState === 'open') this.heartbeat.check();
        },
        // The link may or may not have survived: find out within the heartbeat timeout.
        offline: () => {
          if (this.currentState === 'open') this.heartbeat.check();
        },
        // A hidden tab's timers were throttled: check the link, or make the overdue attempt, now.
        visible: () => {
          if (this.currentState === 'open') this.heartbeat.check();
          else if (this.retry.overdue()) this.attempt('visible');
        },
      }),
    );
  }

  protected emitError(error: TetherError): void {
    this.events.emit('error', { type: 'error', error });
  }

  private settleWaiters(error: unknown): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) {
      if (error === undefined) w.resolve();
      else w.reject(error);
    }
  }
}
