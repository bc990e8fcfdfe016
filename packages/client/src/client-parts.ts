import { Emitter } from '@tether/common';
import type { ClientFrame } from '@tether/protocol';
import { type BreakerState, breakerTransition } from './circuit-breaker.js';
import type { SequenceGapError } from './errors.js';
import { DomListeners, EventStreams } from './event-adapters.js';
import type { ClientEventMap } from './events.js';
import { UrlRotation, type UrlSource } from './failover.js';
import { FrameHandler } from './frame-handler.js';
import { Heartbeat } from './heartbeat.js';
import { Inbox } from './inbox.js';
import { ConnectionLifecycle } from './lifecycle.js';
import type { ResolvedOptions } from './options.js';
import { Outbox } from './outbox.js';
import { PendingRequests } from './requests.js';
import { RetryScheduler } from './retry-scheduler.js';
import { SessionKeeper } from './session.js';
import { StabilityMonitor } from './stability.js';
import { readStats, StatsTracker } from './stats.js';
import { Subscriptions } from './subscriptions.js';
import { Transmitter } from './transmitter.js';
import { Transport } from './transport.js';

/** The parts the lifecycle drives (see `composeClient`). */
export interface LifecycleParts {
  readonly events: Emitter<ClientEventMap>;
  /** The async iterators, ended when the client reaches `closed`. */
  readonly streams: { endAll(): void };
  readonly outbox: Outbox;
  readonly inbox: Inbox;
  readonly session: SessionKeeper;
  readonly requests: PendingRequests;
  readonly subscriptions: Subscriptions;
  readonly transmitter: Transmitter;
  readonly tracker: StatsTracker;
  readonly retry: RetryScheduler;
  readonly heartbeat: Heartbeat;
  readonly transport: Transport;
  /** Which URL each attempt goes to. */
  readonly urls: UrlRotation;
  /** Everything the server sends after `welcome`. */
  readonly frames: FrameHandler;
}

/**
 * The parts of a client, each with its own state and a narrow interface: the one
 * emitter (and its two adapters), the outbox, the pending requests, the subscriptions,
 * the transmitter that writes to the socket, the stats, the retry scheduler, the
 * session, and the lifecycle that drives the connection. `TetherClient` is the public
 * face over them; none of them inherits from another.
 */
export interface ClientParts {
  readonly events: Emitter<ClientEventMap>;
  readonly dom: DomListeners;
  readonly streams: EventStreams;
  readonly outbox: Outbox;
  readonly requests: PendingRequests;
  readonly subscriptions: Subscriptions;
  readonly transmitter: Transmitter;
  readonly tracker: StatsTracker;
  readonly retry: RetryScheduler;
  readonly session: SessionKeeper;
  readonly urls: UrlRotation;
  readonly lifecycle: ConnectionLifecycle;
  /** The `health` and `recovered` events and the stability report, read from the others. */
  readonly stability: StabilityMonitor;
}

/**
 * Builds and wires the parts of a client for `url` and `opts` (resolved); an invalid
 * `url` throws an `OptionError` naming it.
 */
export function composeClient(url: UrlSource, opts: ResolvedOptions): ClientParts {
  const clock = opts.clock;
  const events = new Emitter<ClientEventMap>();
  const urls = new UrlRotation(url, (change) =>
    events.emit('failover', { type: 'failover', ...change }),
  );
  // The lifecycle is made last; the parts before it reach it only through these calls.
  let lifecycle: ConnectionLifecycle | undefined;
  const life = (): ConnectionLifecycle => lifecycle as ConnectionLifecycle;
  // The breaker reports snapshots; the event also says what changed since the last one.
  let breakerWas: BreakerState = 'closed';
  const retry: RetryScheduler = new RetryScheduler(opts, clock, () => {
    const snapshot = retry.breaker.snapshot();
    const previous = breakerWas;
    breakerWas = snapshot.state;
    const transition = breakerTransition(previous, snapshot.state);
    events.emit('breaker', { type: 'breaker', ...snapshot, transition, previous });
  });
  const outbox = new Outbox(opts.maxQueue, opts.maxQueueBytes);
  const sendControl = (frame: ClientFrame): void => transmitter.sendControl(frame);
  const inbox = new Inbox(clock, opts, (seq) => sendControl({ t: 'ack', seq }));
  const session = new SessionKeeper(inbox, outbox);
  const requests = new PendingRequests(clock, (id) => outbox.removeOnce(id));
  const tracker = new StatsTracker();
  const heartbeat = new Heartbeat(clock, {
    sendPing: (ts) => sendControl({ t: 'ping', ts }),
    onDead: (silentFor) => life().heartbeatDead(silentFor),
  });
  const transmitter = new Transmitter(clock, outbox, requests, heartbeat, tracker, opts);
  const subscriptions = new Subscriptions(
    {
      events,
      sendControl,
      isReady: () => life().ready,
      sequenceGap: (error: SequenceGapError) => life().sequenceGap(error),
    },
    opts,
    clock,
  );
  const streams = new EventStreams(
    events,
    opts.iteratorBufferSize,
    () => life().state === 'closed',
  );
  const transport = new Transport(opts, transmitter, events, clock);
  const frames = new FrameHandler(
    {
      events,
      outbox,
      inbox,
      requests,
      subscriptions,
      transmitter,
      tracker,
      sendControl,
      isCurrent: (id) => life().isCurrent(id),
      currentAttempt: () => life().attemptNumber,
      setCloseHint: (code, retryAfterMs) => transport.announced(code, retryAfterMs),
      emitError: (error) => life().emitError(error),
      sequenceGap: (error) => life().sequenceGap(error),
      refreshToken: () => life().refreshToken(),
    },
    opts.onRequest,
    clock,
  );
  lifecycle = new ConnectionLifecycle(opts, {
    events,
    streams,
    outbox,
    inbox,
    session,
    requests,
    subscriptions,
    transmitter,
    tracker,
    retry,
    heartbeat,
    transport,
    urls,
    frames,
  });
  const statsSources = { lifecycle: life(), session, tracker, retry, outbox, requests, urls };
  const stability = new StabilityMonitor({
    events,
    clock,
    environment: opts.environment,
    stats: () => readStats(statsSources, clock.monotonic()),
    subscriptionCount: () => subscriptions.all().length,
    maxQueue: opts.maxQueue,
    maxQueueBytes: opts.maxQueueBytes,
  });
  const dom = new DomListeners(events);
  return {
    events,
    dom,
    streams,
    outbox,
    requests,
    subscriptions,
    transmitter,
    tracker,
    retry,
    session,
    urls,
    lifecycle,
    stability,
  };
}
