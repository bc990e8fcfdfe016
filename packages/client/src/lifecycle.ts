import { type Clock, DisposerBag, TetherError, Timer } from '@tether/common';
import { CloseCode, closeCodeInfo, PROTOCOL_DEFAULTS, type WelcomeFrame } from '@tether/protocol';
import type { LifecycleParts } from './client-parts.js';
import { environmentHandlers, watchEnvironment } from './environment.js';
import {
  ClientClosedError,
  ConnectionLostError,
  FinalCloseError,
  ReconnectExhaustedError,
  type SequenceGapError,
  TokenProviderError,
} from './errors.js';
import { freshToken, isToken, withToken } from './handshake.js';
import type { ResolvedOptions } from './options.js';
import { type ConnectionState, canTransition, OpenWaiters } from './states.js';

/** Why the client is in `closed`. */
export type StopCause = { by: 'client' } | { by: 'server' | 'exhausted'; error: TetherError };

/**
 * The connection's life: the state machine, numbered attempts, the handshake,
 * classification of every close by the protocol's close-code table, backoff, the
 * circuit breaker, and the environment's signals. One path ends it ({@link finish}),
 * whether the client closes, the server closes for good, or the attempts run out.
 */
export class ConnectionLifecycle {
  private readonly clock: Clock;
  private current: ConnectionState = 'idle';
  private stopCause: StopCause | undefined;
  private maxBytes: number = PROTOCOL_DEFAULTS.maxMessageBytes;
  /** Numbers every attempt; callbacks of an older attempt compare and do nothing. */
  private attemptId = 0;
  private isReady = false;
  private stable = false;
  /** Effective close code of the last connection (for requests whose reply it took along). */
  private lastCloseCode: number = CloseCode.ABNORMAL;
  private openedAt = 0;
  private readonly waiters = new OpenWaiters();
  private readonly envListeners = new DisposerBag();
  private readonly connectTimer: Timer;
  private readonly stableTimer: Timer;

  constructor(
    private readonly opts: ResolvedOptions,
    private readonly parts: LifecycleParts,
  ) {
    const clock = opts.clock;
    this.clock = clock;
    this.connectTimer = new Timer('tether.client.connect', clock);
    this.stableTimer = new Timer('tether.client.stable', clock);
  }

  get state(): ConnectionState {
    return this.current;
  }

  /** Whether `welcome` arrived on the current connection. */
  get ready(): boolean {
    return this.isReady;
  }

  /** The largest message the server accepts (from `welcome`). */
  get maxMessageBytes(): number {
    return this.maxBytes;
  }

  /** Whether `close()` stopped the client (and `connect()` was not called since). */
  get closedByClient(): boolean {
    return this.stopCause?.by === 'client';
  }

  /** Why calls fail in `closed`: the error that stopped the client, or CLIENT_CLOSED after `close()`. */
  stopError(): TetherError {
    const cause = this.stopCause;
    return cause && cause.by !== 'client' ? cause.error : new ClientClosedError();
  }

  /** Starts connecting from `idle` or `closed` (fresh counters); resolves once `open`. */
  connect(): Promise<void> {
    if (this.current === 'open') return Promise.resolve();
    const waiting = this.waiters.wait();
    if (this.current === 'idle' || this.current === 'closed') {
      this.stopCause = undefined;
      this.parts.retry.reset();
      this.parts.urls.reset();
      this.followEnvironment();
      this.attempt('connect');
    }
    return waiting;
  }

  /** See `TetherClient.close()`. */
  close(code: number, reason: string): Promise<void> {
    const { inbox, tracker, events, transport } = this.parts;
    // Acknowledge what arrived, so that a later resume does not replay it.
    if (this.current === 'open') inbox.flush();
    const conn = transport.detach();
    this.attemptId += 1;
    this.finish({ by: 'client' }, () => {
      if (!conn) return;
      const info = closeCodeInfo(CloseCode.CLIENT_CLOSED);
      tracker.ended(this.clock.monotonic());
      const close = { code: info.code, reason, wasClean: true, willReconnect: false, info };
      events.emit('close', { type: 'close', ...close });
    });
    return conn ? transport.closeGracefully(conn, code, reason) : Promise.resolve();
  }

  emitError(error: TetherError): void {
    this.parts.events.emit('error', { type: 'error', error });
  }

  /** Whether attempt `id` is still the open connection (a late async reply must not cross sockets). */
  isCurrent(id: number): boolean {
    return id === this.attemptId && this.isReady;
  }

  /** The number of the current attempt. */
  get attemptNumber(): number {
    return this.attemptId;
  }

  /** The heartbeat saw no traffic for `silentFor` ms: the link is dead. */
  heartbeatDead(silentFor: number): void {
    this.abortConnection(CloseCode.HEARTBEAT_TIMEOUT, `no traffic for ${silentFor} ms`);
  }

  /** The server skipped a number: report it, drop the socket and resume (with backoff). */
  sequenceGap(error: SequenceGapError): void {
    this.emitError(error);
    if (this.parts.transport.connected)
      this.abortConnection(CloseCode.INTERNAL_ERROR, error.message.slice(0, 120));
  }

  /** The one place the state changes; emits `{from, to}`. */
  private transition(to: ConnectionState, reason: string): void {
    const from = this.current;
    if (from === to) return;
    if (!canTransition(from, to)) {
      throw new TetherError(
        'INTERNAL',
        `tether client: no transition ${from} -> ${to} (${reason})`,
      );
    }
    this.current = to;
    this.parts.events.emit('state', { type: 'state', from, to, reason, at: this.clock.now() });
    if (this.current === 'open') this.waiters.settle(undefined);
    if (this.current === 'closed') {
      const cause = this.stopCause;
      this.waiters.settle(this.stopError());
      this.parts.subscriptions.closeAll(
        cause && cause.by !== 'client' ? cause.error.code : 'client closed',
      );
      this.parts.streams.endAll();
    }
  }

  /**
   * The one way to `closed`: cancels every timer and listener, fails what cannot wait
   * (after `close()` everything queued; otherwise requests and unnumbered frames, while
   * numbered sends stay queued for the next `connect()`), runs `beforeClosed` (the
   * `close` event of `close()`) and changes the state.
   */
  private finish(cause: StopCause, beforeClosed?: () => void): void {
    const { outbox, requests } = this.parts;
    this.stopCause = cause;
    this.teardown();
    const error = this.stopError();
    const dropped = cause.by === 'client' ? outbox.clear(error) : outbox.removeOnceEntries();
    for (const id of dropped) requests.reject(id, error);
    requests.rejectAll(error);
    beforeClosed?.();
    if (this.current !== 'closed')
      this.transition('closed', cause.by === 'client' ? 'client close' : error.code);
  }

  /** Stops reconnecting for good (until `connect()`); queued sends stay queued. */
  private stop(by: 'server' | 'exhausted', error: TetherError): void {
    this.finish({ by, error });
    // A normal close (1000) is why the client stopped, not an error.
    if (error.code !== 'NORMAL') this.emitError(error);
  }

  /** Starts attempt number `attemptId + 1`, unless the device is offline. */
  private attempt(reason: string): void {
    this.parts.retry.cancel();
    if (!this.opts.environment.onLine) {
      // No attempt while offline; the 'online' event starts one at once.
      this.transition('reconnecting', 'offline');
      return;
    }
    const id = ++this.attemptId;
    this.parts.tracker.attempted();
    this.isReady = false;
    this.stable = false;
    this.transition('connecting', reason);
    if (id !== this.attemptId) return;
    this.connectTimer.start(this.opts.connectTimeoutMs, () =>
      this.abortConnection(CloseCode.CONNECT_TIMEOUT, 'connect timeout'),
    );
    // The url source emits `failover` when this attempt goes elsewhere; a listener may close().
    this.parts.urls.next(
      this.parts.tracker.attempts,
      (url) => {
        if (id !== this.attemptId) return;
        const tokenFailed = (err: unknown) => this.attemptFailed(id, new TokenProviderError(err));
        withToken(this.opts.token, (token) => this.openSocket(id, url, token), tokenFailed);
      },
      (error) => this.attemptFailed(id, error),
    );
  }

  /** The server asked for a fresh token before the connection's expires (see {@link freshToken}). */
  refreshToken(): void {
    const id = this.attemptId;
    freshToken(
      this.opts.token,
      () => id === this.attemptId && this.isReady,
      (token) => this.parts.transmitter.sendControl({ t: 'auth', token }),
      (err) => {
        if (id === this.attemptId) this.emitError(new TokenProviderError(err));
      },
    );
  }

  /** The url or token provider failed: the attempt fails (and is retried). */
  private attemptFailed(id: number, error: TetherError): void {
    if (id !== this.attemptId) return;
    this.emitError(error);
    // An error listener may have called close(): check again.
    if (id === this.attemptId) {
      const what = error instanceof TokenProviderError ? 'token' : 'url';
      this.connectionEnded(CloseCode.ABNORMAL, `${what} provider failed`, false);
    }
  }

  private openSocket(id: number, url: string, token: string | undefined): void {
    if (id !== this.attemptId || this.current !== 'connecting') return;
    if (token !== undefined && !isToken(token)) {
      const error = new TypeError('the token provider returned no token');
      this.attemptFailed(id, new TokenProviderError(error));
      return;
    }
    // Every callback checks its attempt number: an older socket's events do nothing.
    const current = (): boolean => id === this.attemptId;
    const { session, transmitter } = this.parts;
    const { client, maxMessageBytes } = this.opts;
    // Built before the socket: it may travel in the upgrade (early hello), else on open.
    const hello = session.hello(client, maxMessageBytes);
    const opened = this.parts.transport.open(url, token, hello, current, {
      onOpen: (earlyHello) => {
        if (!earlyHello) transmitter.sendControl(hello);
      },
      onText: (text) => this.onText(id, text),
      onClose: (code, reason, wasClean) => this.connectionEnded(code, reason, wasClean),
      onError: (error) => this.emitError(error),
    });
    if (!opened && current())
      this.connectionEnded(CloseCode.ABNORMAL, 'socket constructor failed', false);
  }

  private onText(id: number, text: string): void {
    this.parts.heartbeat.received();
    this.parts.frames.handleText(
      text,
      () => id === this.attemptId,
      (welcome) => this.onWelcome(id, welcome),
    );
  }

  private onWelcome(id: number, welcome: WelcomeFrame): void {
    if (this.current !== 'connecting' || this.isReady) return;
    const { events, session, requests, heartbeat, tracker, retry, transmitter } = this.parts;
    this.connectTimer.clear();
    this.isReady = true;
    const { event, processedRequests, unansweredPublishes } = session.welcome(welcome);
    // Processed by the server, but their replies were on the connection that dropped.
    for (const requestId of [...processedRequests, ...unansweredPublishes])
      requests.reject(requestId, new ConnectionLostError(this.lastCloseCode, true));
    this.maxBytes = welcome.limits.maxMessageBytes;
    heartbeat.start(welcome.hb.interval, welcome.hb.timeout);
    this.openedAt = this.clock.monotonic();
    tracker.opened(this.openedAt);
    this.stable = false;
    this.stableTimer.start(this.opts.minUptimeMs, () => this.markStable());
    retry.connected();
    // What waited in the outbox goes first, then the subscriptions, before anything an
    // 'open' listener sends. The application hears about the session before any message of it.
    events.emit('session', event);
    if (id !== this.attemptId) return;
    transmitter.open(welcome.limits.rate, welcome.limits.burst);
    this.parts.subscriptions.opened();
    if (id !== this.attemptId) return;
    this.transition('open', 'welcome');
    if (id !== this.attemptId) return;
    events.emit('open', {
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
    this.parts.retry.stable();
    this.parts.urls.stable();
  }

  /** Gives up on the current socket at once (heartbeat, connect timeout): no close handshake. */
  private abortConnection(code: number, reason: string): void {
    const conn = this.parts.transport.detach();
    this.connectionEnded(code, reason, false);
    // 4012 is client-side only; on the wire the socket just closes normally.
    conn?.abort(code === CloseCode.CONNECT_TIMEOUT ? CloseCode.NORMAL : code, reason);
  }

  /** The current attempt is over: classify by the close-code table, then stop or retry. */
  private connectionEnded(socketCode: number, socketReason: string, wasClean: boolean): void {
    const { events, requests, retry, tracker, transport } = this.parts;
    const wasOpen = this.current === 'open';
    this.detachConnection();
    this.attemptId += 1;
    const mono = this.clock.monotonic();
    if (wasOpen) {
      // The stable timer may have been throttled: trust the clock.
      if (mono - this.openedAt >= this.opts.minUptimeMs) this.markStable();
      tracker.ended(mono);
    }
    const { code, reason, httpStatus, retryAfterMs, opened } = transport.ended(
      socketCode,
      socketReason,
    );
    if (wasOpen) tracker.recordDrop(code, mono);
    this.lastCloseCode = code;
    requests.failSent((processed) => new ConnectionLostError(code, processed));
    const info = closeCodeInfo(code);
    // A URL of this round still untried: go there at once (see UrlRotation).
    const fast = info.action !== 'stop' && this.parts.urls.ended(code, reason);
    const decision =
      info.action === 'stop'
        ? undefined
        : retry.ended(!this.stable, code, info.action, retryAfterMs, fast);
    const willReconnect = decision !== undefined && decision.kind !== 'exhausted';
    events.emit('close', { type: 'close', code, reason, wasClean, willReconnect, info });
    if (!opened) transport.countNeverOpened(code);
    if (this.stopCause?.by === 'client') return; // close() from a listener
    if (decision === undefined) {
      this.stop('server', new FinalCloseError(info, reason, httpStatus));
    } else if (decision.kind === 'exhausted') {
      this.stop('exhausted', new ReconnectExhaustedError(decision.attempts, code));
    } else if (decision.kind === 'circuit-open') {
      this.transition('circuit-open', `${decision.failures} failed attempts`);
      retry.scheduleProbe(() => this.attempt('probe'));
    } else if (decision.kind === 'offline') {
      // No timer while offline: the 'online' event makes the attempt at once.
      this.transition('reconnecting', 'offline');
    } else {
      this.transition('reconnecting', `close ${code}`);
      const { attempt, delayMs, plan } = decision;
      const retryEvent = { attempt, delayMs, kind: plan, closeCode: code, retryAfterMs };
      events.emit('retry', { type: 'retry', ...retryEvent });
      if (this.current === 'reconnecting') retry.schedule(delayMs, () => this.attempt('retry'));
    }
  }

  /** Forgets the current socket and stops everything that belongs to one connection. */
  private detachConnection(): void {
    this.parts.transport.detach();
    this.isReady = false;
    this.connectTimer.clear();
    this.stableTimer.clear();
    this.parts.heartbeat.stop();
    this.parts.inbox.connectionEnded();
    this.parts.subscriptions.connectionEnded();
  }

  /** Cancels every timer and environment listener. */
  private teardown(): void {
    this.detachConnection();
    this.parts.retry.cancel();
    this.envListeners.dispose();
  }

  private followEnvironment(): void {
    if (this.envListeners.size > 0) return;
    const { heartbeat, retry } = this.parts;
    const handlers = environmentHandlers({
      state: () => this.current,
      attempt: (reason) => this.attempt(reason),
      checkLink: () => heartbeat.check(),
      overdue: () => retry.overdue(),
    });
    this.envListeners.add(watchEnvironment(this.opts.environment, handlers));
  }
}
