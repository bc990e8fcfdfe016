import { type Disposer, TetherError } from '@tether/common';
import { CloseCode, encodeFrame, isValidTopic, type Json, type Position } from '@tether/protocol';
import { type ClientParts, composeClient } from './client-parts.js';
import { ClientClosedError, QueueFullError } from './errors.js';
import type { AddEventListenerOptions } from './event-adapters.js';
import type { ClientEventMap, EventListenerLike, TetherMessageEvent } from './events.js';
import type { UrlSource } from './failover.js';
import { type ResolvedOptions, resolveOptions, type TetherClientOptions } from './options.js';
import type { ClientStabilityReport, HealthStatus } from './stability.js';
import type { ConnectionState, StateChange } from './states.js';
import { type ClientStats, readStats } from './stats.js';
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
  /**
   * Number the publish (`seq`, shared with `send()`): it is kept and resent
   * after reconnects until the server answered and acknowledged it, the
   * server publishes it once, and a resend is answered with the same
   * position. Published in order with the session's messages. Default false
   * (a publish in flight when the connection drops fails with
   * CONNECTION_LOST): a server older than reliable publish never acknowledges
   * the `seq`, which would hold up every later `send()` of the session.
   */
  reliable?: boolean;
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
 *
 * The public face over the client's parts (see `composeClient`): the lifecycle, the
 * transport, the outbox, the requests and the subscriptions. Events: `on`/`once`/`off`
 * (returning disposers) is the API; `addEventListener` and the async iterators are thin
 * adapters over the same emitter.
 */
export class TetherClient {
  private readonly opts: ResolvedOptions;
  private readonly parts: ClientParts;

  /**
   * @param url - `ws:`/`wss:` URL of a Tether endpoint (`http(s):` and, in
   * browsers, relative URLs are accepted); or several, tried in turn when one
   * refuses or dies (failover without a load balancer); or a function that
   * returns each attempt's URL. See docs/client.md, "Failover".
   * @param options - see {@link TetherClientOptions}; invalid options throw an
   * `OptionError` naming the option.
   */
  constructor(url: UrlSource, options: TetherClientOptions = {}) {
    const opts = resolveOptions(options);
    this.opts = opts;
    this.parts = composeClient(url, opts);
    // Deferred to a microtask, so listeners added right after construction see every event.
    if (opts.autoConnect) {
      queueMicrotask(() => {
        if (this.state === 'idle') void this.connect();
      });
    }
  }

  /**
   * The URL of the current (or last) attempt (ws: or wss:); before the first attempt
   * the first URL given, undefined with a `url` function until its first answer.
   */
  get url(): string | undefined {
    return this.parts.urls.url;
  }

  /** Every URL given, resolved (empty with a `url` function). */
  get urls(): readonly string[] {
    return this.parts.urls.urls;
  }

  /** The connection state; see docs/client.md for the state machine. */
  get state(): ConnectionState {
    return this.parts.lifecycle.state;
  }

  /** The session id of the latest `welcome`. */
  get sessionId(): string | undefined {
    return this.parts.session.sessionId;
  }

  /** Adds a listener; returns its disposer. */
  on<K extends keyof ClientEventMap>(
    event: K,
    listener: (payload: ClientEventMap[K]) => void,
  ): Disposer {
    return this.parts.events.on(event, listener);
  }

  /** Adds a listener for the next event only; returns its disposer. */
  once<K extends keyof ClientEventMap>(
    event: K,
    listener: (payload: ClientEventMap[K]) => void,
  ): Disposer {
    return this.parts.events.once(event, listener);
  }

  off<K extends keyof ClientEventMap>(
    event: K,
    listener: (payload: ClientEventMap[K]) => void,
  ): void {
    this.parts.events.off(event, listener);
  }

  /** Browser-style registration (an adapter over {@link on}); adding the same listener twice has no effect. */
  addEventListener<K extends keyof ClientEventMap>(
    type: K,
    listener: EventListenerLike<ClientEventMap[K]>,
    options: AddEventListenerOptions = {},
  ): void {
    this.parts.dom.add(type, listener, options);
  }

  removeEventListener<K extends keyof ClientEventMap>(
    type: K,
    listener: EventListenerLike<ClientEventMap[K]>,
  ): void {
    this.parts.dom.remove(type, listener);
  }

  /**
   * Messages from the server as an async iterator. Ends when the client
   * reaches `closed`; fails with ITERATOR_OVERFLOW when the reader falls
   * `iteratorBufferSize` messages behind.
   */
  messages(): AsyncIterableIterator<TetherMessageEvent> {
    return this.parts.streams.messages();
  }

  /** State changes as an async iterator (the status stream). Ends after the change to `closed`. */
  states(): AsyncIterableIterator<StateChange> {
    return this.parts.streams.states();
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<TetherMessageEvent> {
    return this.messages();
  }

  /**
   * Starts connecting (from `idle` or `closed`, with fresh counters) and
   * resolves once the connection is open. Rejects when the client reaches
   * `closed` first (a final close code, `maxAttempts`, or `close()`). The
   * returned promise may be ignored: failures are also `error` events.
   */
  connect(): Promise<void> {
    return handled(this.parts.lifecycle.connect());
  }

  /**
   * Closes the connection and cancels everything pending: a scheduled
   * reconnect, every timer, the environment listeners. Queued sends and
   * pending requests reject with CLIENT_CLOSED. Resolves when the socket is
   * closed (cut after `closeTimeoutMs`). `connect()` starts again.
   */
  close(code: number = CloseCode.NORMAL, reason = ''): Promise<void> {
    return this.parts.lifecycle.close(code, reason);
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
    if (this.parts.lifecycle.closedByClient)
      return handled(Promise.reject(new ClientClosedError()));
    const result = new Promise<void>((resolve, reject) => {
      try {
        this.parts.outbox.pushReliable(
          data,
          { resolve, reject },
          undefined,
          this.parts.lifecycle.maxMessageBytes,
        );
      } catch (err) {
        reject(err);
        this.refused(err);
        return;
      }
      this.parts.transmitter.flush();
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
    if (this.state === 'closed') return handled(Promise.reject(this.parts.lifecycle.stopError()));
    const timeoutMs = this.timeoutOf('request', options.timeoutMs);
    const reliable = options.reliable === true;
    const { id, promise } = this.parts.requests.create(method, timeoutMs, reliable);
    try {
      if (reliable) {
        this.parts.outbox.pushReliable(
          data,
          undefined,
          { id, method },
          this.parts.lifecycle.maxMessageBytes,
        );
      } else {
        const frame =
          data === undefined
            ? { t: 'req' as const, id, method }
            : { t: 'req' as const, id, method, data };
        this.parts.outbox.pushOnce(id, encodeFrame(frame), this.parts.lifecycle.maxMessageBytes);
      }
    } catch (err) {
      this.parts.requests.reject(id, err);
      this.refused(err);
      return handled(promise as Promise<T>);
    }
    this.parts.transmitter.flush();
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
    if (this.parts.lifecycle.closedByClient && this.state === 'closed')
      throw new ClientClosedError('subscribe(): the client was closed; connect() first');
    return this.parts.subscriptions.subscribe(topic, options);
  }

  /** The live subscription to `topic`, if any. */
  subscription(topic: string): Subscription | undefined {
    return this.parts.subscriptions.get(topic);
  }

  /** Every live subscription, in the order they were made. */
  allSubscriptions(): Subscription[] {
    return this.parts.subscriptions.all();
  }

  /**
   * Publishes `data` to `topic` (where the server allows it) and resolves
   * with the position it got. Rejects with a `ServerError` (FORBIDDEN,
   * RATE_LIMITED, ...), REQUEST_TIMEOUT, or CONNECTION_LOST when the
   * connection dropped before the answer: the publication may or may not
   * have happened (a plain publish carries no `seq`, so the server cannot
   * dedupe a resend; retry only if a duplicate is harmless). With
   * `reliable: true` it is committed once across reconnects and resolves
   * with its one position (see {@link PublishOptions.reliable}). Waits in
   * the outbox while disconnected.
   */
  publish(topic: string, data: Json, options: PublishOptions = {}): Promise<Position> {
    if (typeof topic !== 'string' || !isValidTopic(topic)) {
      throw new RangeError(`publish(): invalid topic name ${JSON.stringify(topic)}`);
    }
    if (data === undefined)
      throw new TypeError('publish(topic, data): data must be a JSON value (null allowed)');
    if (this.state === 'closed') return handled(Promise.reject(this.parts.lifecycle.stopError()));
    const timeoutMs = this.timeoutOf('publish', options.timeoutMs);
    const reliable = options.reliable === true;
    const { id, promise } = this.parts.requests.create(`publish ${topic}`, timeoutMs, reliable);
    try {
      if (reliable) {
        this.parts.outbox.pushReliable(
          data,
          undefined,
          undefined,
          this.parts.lifecycle.maxMessageBytes,
          { id, topic },
        );
      } else {
        this.parts.outbox.pushOnce(
          id,
          encodeFrame({ t: 'publish', topic, data, id }),
          this.parts.lifecycle.maxMessageBytes,
        );
      }
    } catch (err) {
      this.parts.requests.reject(id, err);
      this.refused(err);
      return handled(promise as unknown as Promise<Position>);
    }
    this.parts.transmitter.flush();
    return handled(promise as unknown as Promise<Position>);
  }

  /** Counters, RTT, drops by close code, the breaker, and the health score. */
  stats(): ClientStats {
    return readStats(this.parts, this.opts.clock.monotonic());
  }

  /**
   * The health level (`healthy` / `degraded` / `unhealthy`, with hysteresis), the score
   * and the reasons; the `health` event reports every change. See docs/client.md.
   */
  health(): HealthStatus {
    return this.parts.stability.health();
  }

  /**
   * The client's stability since it was created: connects, drops by close code,
   * recoveries, downtime (total, longest), health now and time spent at each level,
   * breaker opens. See docs/client.md.
   */
  stabilityReport(): ClientStabilityReport {
    return this.parts.stability.report();
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
      const { count, bytes } = this.parts.outbox;
      this.parts.events.emit('overflow', {
        type: 'overflow',
        limit: err.limit,
        queued: count,
        queuedBytes: bytes,
      });
    }
    if (err instanceof TetherError) this.parts.lifecycle.emitError(err);
  }
}
