import { TetherError, Timer } from '@tether/common';
import {
  CloseCode,
  closeCodeInfo,
  encodeFrame,
  isValidTopic,
  type Json,
  type Position,
} from '@tether/protocol';
import { ClientClosedError, QueueFullError } from './errors.js';
import { ConnectionLifecycle } from './lifecycle.js';
import { resolveOptions, resolveUrl, type TetherClientOptions } from './options.js';
import { type ClientStabilityReport, type HealthStatus, StabilityMonitor } from './stability.js';
import type { ConnectionState } from './states.js';
import { type ClientStats, healthScore } from './stats.js';
import type { Subscription } from './subscription.js';
import type { SubscribeOptions } from './topic-stream.js';

/** Options of `request()`. */
export interface RequestOptions {
  /** Deadline for the reply, ms. Default: the client's `requestTimeoutMs` (30 s). */
  timeoutMs?: number;
  /**
   * Number the request (`seq`, shared with `send()`): it is kept and resent
   * after reconnects until the server acknowledges it, and the server runs it
   * once. Default false: a request in flight when the connection drops fails
   * with CONNECTION_LOST.
   */
  reliable?: boolean;
}

/** Options of `publish()`. */
export interface PublishOptions {
  /** Deadline for the server's `published`, ms. Default: the client's `requestTimeoutMs` (30 s). */
  timeoutMs?: number;
}

/** Marks a promise as handled: its failure also arrives as an `error` event, so ignoring it is safe. */
function handled<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => {});
  return promise;
}

/**
 * A Tether connection that stays up: it reconnects with full-jitter backoff,
 * honours server hints, stops on final close codes, watches liveness, and
 * keeps every `send()` until the server acknowledges it. Works in browsers
 * and in Node (pass `ws`'s `WebSocket`). See docs/client.md.
 */
export class TetherClient extends ConnectionLifecycle {
  private readonly stability: StabilityMonitor;

  /**
   * @param url - `ws:`/`wss:` URL of a Tether endpoint (`http(s):` and, in
   * browsers, relative URLs are accepted).
   * @param options - see {@link TetherClientOptions}; invalid options throw an
   * `OptionError` naming the option.
   */
  constructor(url: string | URL, options: TetherClientOptions = {}) {
    const opts = resolveOptions(options);
    super(resolveUrl(url), opts);
    this.stability = new StabilityMonitor({
      events: this.events,
      clock: this.clock,
      environment: opts.environment,
      stats: () => this.stats(),
      subscriptionCount: () => this.subscriptions.all().length,
      maxQueue: opts.maxQueue,
      maxQueueBytes: opts.maxQueueBytes,
    });
    // Deferred to a microtask, so listeners added right after construction see every event.
    if (opts.autoConnect) {
      queueMicrotask(() => {
        if (this.currentState === 'idle') void this.connect();
      });
    }
  }

  /** The connection state; see docs/client.md for the state machine. */
  get state(): ConnectionState {
    return this.currentState;
  }

  /** The session id of the latest `welcome`. */
  get sessionId(): string | undefined {
    return this.session.sessionId;
  }

  /**
   * Starts connecting (from `idle` or `closed`, with fresh counters) and
   * resolves once the connection is open. Rejects when the client reaches
   * `closed` first (a final close code, `maxAttempts`, or `close()`). The
   * returned promise may be ignored: failures are also `error` events.
   */
  connect(): Promise<void> {
    if (this.currentState === 'open') return Promise.resolve();
    const waiting = handled(this.untilOpen());
    if (this.currentState === 'idle' || this.currentState === 'closed') this.start();
    return waiting;
  }

  /**
   * Closes the connection and cancels everything pending: a scheduled
   * reconnect, every timer, the environment listeners. Queued sends and
   * pending requests reject with CLIENT_CLOSED. Resolves when the socket is
   * closed (cut after `closeTimeoutMs`). `connect()` starts again.
   */
  close(code: number = CloseCode.NORMAL, reason = ''): Promise<void> {
    const conn = this.conn;
    // Acknowledge what arrived, so that a later resume does not replay it.
    if (this.currentState === 'open') this.inbox.flush();
    this.detachConnection();
    this.attemptId += 1;
    this.stopCause = { by: 'client' };
    this.teardown();
    const error = new ClientClosedError();
    for (const id of this.outbox.clear(error)) this.requests.reject(id, error);
    this.requests.rejectAll(error);
    if (conn) {
      const info = closeCodeInfo(CloseCode.CLIENT_CLOSED);
      this.tracker.ended(this.clock.monotonic());
      this.events.emit('close', {
        type: 'close',
        code: info.code,
        reason,
        wasClean: true,
        willReconnect: false,
        info,
      });
    }
    if (this.currentState !== 'closed') this.transition('closed', 'client close');
    if (!conn) return Promise.resolve();
    conn.close(code, reason);
    return new Promise<void>((resolve) => {
      const timer = new Timer('tether.client.close-handshake', this.clock);
      timer.start(this.opts.closeTimeoutMs, () => {
        conn.abort(code, reason);
        resolve();
      });
      void conn.whenClosed().then(() => {
        timer.clear();
        resolve();
      });
    });
  }

  /**
   * Sends `data` reliably: it gets the session's next `seq`, is kept until the
   * server acknowledges it and is sent again after a reconnect. Resolves on
   * the ack. While disconnected it waits in the outbox, bounded by `maxQueue`
   * and `maxQueueBytes`: when full, the new message is refused (QUEUE_FULL and
   * an `overflow` event). Failures are also `error` events, so the promise may
   * be ignored.
   */
  send(data: Json): Promise<void> {
    if (data === undefined)
      throw new TypeError('send(data): data must be a JSON value (null allowed)');
    if (this.stopCause?.by === 'client') return handled(Promise.reject(new ClientClosedError()));
    const result = new Promise<void>((resolve, reject) => {
      try {
        this.outbox.pushReliable(data, { resolve, reject }, undefined, this.maxMessageBytes);
      } catch (err) {
        reject(err);
        this.refused(err);
        return;
      }
      this.transmitter.flush();
    });
    return handled(result);
  }

  /**
   * Sends a request and resolves with the server's reply. Rejects with a
   * `ServerError` (the server's code), REQUEST_TIMEOUT, CONNECTION_LOST (the
   * connection dropped after it was sent: it may or may not have run), or
   * CLIENT_CLOSED. Waits in the outbox until the connection is open; in
   * `closed` it fails at once with the error that stopped the client.
   */
  request<T extends Json = Json>(
    method: string,
    data?: Json,
    options: RequestOptions = {},
  ): Promise<T> {
    if (this.currentState === 'closed') return handled(Promise.reject(this.stopError()));
    const timeoutMs = this.timeoutOf('request', options.timeoutMs);
    const reliable = options.reliable === true;
    const { id, promise } = this.requests.create(method, timeoutMs, reliable);
    try {
      if (reliable) {
        this.outbox.pushReliable(data, undefined, { id, method }, this.maxMessageBytes);
      } else {
        const frame =
          data === undefined
            ? { t: 'req' as const, id, method }
            : { t: 'req' as const, id, method, data };
        this.outbox.pushOnce(id, encodeFrame(frame), this.maxMessageBytes);
      }
    } catch (err) {
      this.requests.reject(id, err);
      this.refused(err);
      return handled(promise as Promise<T>);
    }
    this.transmitter.flush();
    return handled(promise as Promise<T>);
  }

  /**
   * Subscribes to `topic` and returns the {@link Subscription}: publications
   * are delivered once and in order, across reconnects (the client
   * resubscribes from its position by itself); when continuity is impossible
   * the subscription emits and yields a `gap`. `from` starts after a saved
   * position; `last: N` starts with the last N publications. Throws
   * ALREADY_SUBSCRIBED for a topic with a live subscription, and a RangeError
   * for an invalid topic or option.
   */
  subscribe(topic: string, options: SubscribeOptions = {}): Subscription {
    if (this.stopCause?.by === 'client' && this.currentState === 'closed')
      throw new ClientClosedError('subscribe(): the client was closed; connect() first');
    return this.subscriptions.subscribe(topic, options);
  }

  /** The live subscription to `topic`, if any. */
  subscription(topic: string): Subscription | undefined {
    return this.subscriptions.get(topic);
  }

  /** Every live subscription, in the order they were made. */
  allSubscriptions(): Subscription[] {
    return this.subscriptions.all();
  }

  /**
   * Publishes `data` to `topic` (where the server allows it) and resolves
   * with the position it got. Rejects with a `ServerError` (FORBIDDEN,
   * RATE_LIMITED, ...), REQUEST_TIMEOUT, or CONNECTION_LOST when the
   * connection dropped before the answer: the publication may or may not
   * have happened (publishes carry no `seq`, so the server cannot dedupe a
   * resend; retry only if a duplicate is harmless). Waits in the outbox while
   * disconnected.
   */
  publish(topic: string, data: Json, options: PublishOptions = {}): Promise<Position> {
    if (typeof topic !== 'string' || !isValidTopic(topic)) {
      throw new RangeError(`publish(): invalid topic name ${JSON.stringify(topic)}`);
    }
    if (data === undefined)
      throw new TypeError('publish(topic, data): data must be a JSON value (null allowed)');
    if (this.currentState === 'closed') return handled(Promise.reject(this.stopError()));
    const timeoutMs = this.timeoutOf('publish', options.timeoutMs);
    const { id, promise } = this.requests.create(`publish ${topic}`, timeoutMs);
    try {
      this.outbox.pushOnce(
        id,
        encodeFrame({ t: 'publish', topic, data, id }),
        this.maxMessageBytes,
      );
    } catch (err) {
      this.requests.reject(id, err);
      this.refused(err);
      return handled(promise as unknown as Promise<Position>);
    }
    this.transmitter.flush();
    return handled(promise as unknown as Promise<Position>);
  }

  /** Counters, RTT, drops by close code, the breaker, and the health score. */
  stats(): ClientStats {
    const mono = this.clock.monotonic();
    const t = this.tracker;
    const recentDrops = t.recentDrops(mono);
    return {
      state: this.currentState,
      sessionId: this.session.sessionId,
      attempts: t.attempts,
      connects: t.connects,
      retries: this.retry.retries,
      consecutiveFailures: this.retry.failures,
      uptimeMs: t.uptime(mono),
      totalUptimeMs: t.totalUptime(mono),
      rttMs: t.rttMs,
      rttAvgMs: t.rttAvgMs,
      drops: t.drops,
      dropsByCode: { ...t.dropsByCode },
      recentDrops,
      messagesSent: t.messagesSent,
      messagesReceived: t.messagesReceived,
      queued: this.outbox.count,
      queuedBytes: this.outbox.bytes,
      pendingRequests: this.requests.size,
      breaker: this.retry.breaker.snapshot(),
      health: healthScore({
        state: this.currentState,
        consecutiveFailures: this.retry.failures,
        recentDrops,
        rttAvgMs: t.rttAvgMs,
      }),
    };
  }

  /**
   * The health level (`healthy` / `degraded` / `unhealthy`, with hysteresis), the score
   * and the reasons; the `health` event reports every change. See docs/client.md.
   */
  health(): HealthStatus {
    return this.stability.health();
  }

  /**
   * The client's stability since it was created: connects, drops by close code,
   * recoveries, downtime (total, longest), health now and time spent at each level,
   * breaker opens. See docs/client.md.
   */
  stabilityReport(): ClientStabilityReport {
    return this.stability.report();
  }

  private timeoutOf(what: string, timeoutMs: number | undefined): number {
    const ms = timeoutMs ?? this.opts.requestTimeoutMs;
    if (!Number.isFinite(ms) || ms <= 0) {
      throw new RangeError(`${what}(): timeoutMs must be a positive number, got ${ms}`);
    }
    return ms;
  }

  private refused(err: unknown): void {
    if (err instanceof QueueFullError) {
      const { count, bytes } = this.outbox;
      this.events.emit('overflow', {
        type: 'overflow',
        limit: err.limit,
        queued: count,
        queuedBytes: bytes,
      });
    }
    if (err instanceof TetherError) this.emitError(err);
  }
}
