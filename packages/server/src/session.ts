import type { ErrorFrame } from '@tether/protocol';
import type { Connection } from './connection.js';
import type { Logger } from './logger.js';
import type { ResolvedEndpointOptions } from './options.js';
import { SessionOutbox } from './session-outbox.js';
import type { EndpointCounters } from './stats.js';
import type { SessionMessage, Store } from './store/index.js';

/** What a session needs from its endpoint. */
export interface SessionHost {
  readonly store: Store;
  readonly logger: Logger;
  readonly counters: EndpointCounters;
  readonly options: ResolvedEndpointOptions;
  /** Keeps a store write in view until it settles, so that shutdown can wait for it. */
  track<T>(write: Promise<T>): Promise<T>;
}

/**
 * Refusals a session remembers for resends: a client resends only what it has not seen
 * acked, which is at most its in-flight window, so the latest 64 cover a lost connection.
 */
const MAX_REMEMBERED_REFUSALS = 64;

/** What happens to an arriving reliable client frame (`msg` or `req` with `seq`). */
export type Admission =
  /** The next one: run its handler (after the ones before it). */
  | 'run'
  /** Processed already, or being processed: dropped; its ack comes (or came) anyway. */
  | 'duplicate'
  /** One before it is missing (dropped, failed): dropped unacked, the client resends from the gap. */
  | 'out-of-order';

/** The sequence numbers a session starts from: 0 for a new one, the store's for a loaded one. */
export interface SessionCounters {
  inSeq: number;
  outSeq: number;
  ackedSeq: number;
}

/**
 * One session as this process holds it: who it belongs to, the connection bound to it,
 * and both directions of reliable delivery.
 *
 * Client -> server ("processed once"): a reliable frame runs only when its `seq` is the
 * next after every one processed; it is acknowledged only once the new `inSeq` is
 * committed to the store, so neither an ack nor a later `welcome.ack` ever claims a
 * frame the store does not know was processed. A frame whose handler fails is not
 * processed: nothing after it runs or is acked until the client sends it again.
 *
 * Server -> client: see {@link SessionOutbox}.
 */
export class Session {
  /** The connection bound to the session; undefined while disconnected. */
  connection: Connection | undefined;
  /** While disconnected: when the resume window ends (wall-clock ms). */
  expiresAt: number | undefined;
  /** Tail of the chain that runs the handlers of the session's connections in order. */
  serialTail: Promise<void> | undefined;
  /** Highest client seq processed (handler finished), in memory. */
  private processedSeq: number;
  /** Highest client seq accepted for processing (queued or running). */
  private claimed: number;
  /** Highest client seq committed to the store: what acks and `welcome.ack` say. */
  private persisted: number;
  /**
   * The latest reliable frames refused for good, by seq, with their `final` error: a
   * resend of one (its error was lost with a connection) gets the error again before
   * the ack. Bounded by {@link MAX_REMEMBERED_REFUSALS}; in memory only.
   */
  private readonly refusals = new Map<number, ErrorFrame>();
  private persisting = false;
  readonly out: SessionOutbox;

  constructor(
    readonly id: string,
    readonly userId: string | null,
    counters: SessionCounters,
    private readonly host: SessionHost,
  ) {
    this.processedSeq = counters.inSeq;
    this.claimed = counters.inSeq;
    this.persisted = counters.inSeq;
    this.out = new SessionOutbox(this, counters.outSeq, counters.ackedSeq, host);
  }

  /** Highest client seq the store knows was processed (`welcome.ack`). */
  get inSeq(): number {
    return this.persisted;
  }

  /** Whether writes of this session are still on their way to the store. */
  get busy(): boolean {
    return this.persisting || this.out.busy;
  }

  /** Binds `connection` (new, or resuming from `fromSeq`); delivery starts with {@link start}. */
  bind(connection: Connection, fromSeq: number): void {
    this.connection = connection;
    this.expiresAt = undefined;
    this.out.bind(connection, fromSeq);
  }

  /** The bound connection went away. */
  unbind(): void {
    this.connection = undefined;
    this.out.unbind();
  }

  /** After `welcome`: replays `preload` and whatever else is missed, then goes live. */
  start(connection: Connection, preload: readonly SessionMessage[]): void {
    this.out.start(connection, preload);
  }

  // ---- client -> server ----

  /** Decides about an arriving reliable frame; a `run` claims its seq. */
  admit(seq: number): Admission {
    if (seq <= this.claimed) {
      const refusal = this.refusals.get(seq);
      if (refusal !== undefined && seq <= this.processedSeq) this.connection?.sendError(refusal);
      if (seq <= this.persisted) {
        this.connection?.ack(this.persisted, true);
      } else if (seq <= this.processedSeq && !this.persisting) {
        // Processed, but its commit failed earlier: try again, the ack follows it.
        this.persist();
      }
      return 'duplicate';
    }
    if (seq > this.claimed + 1) return 'out-of-order';
    this.claimed = seq;
    return 'run';
  }

  /** At run time: whether `seq` still follows what was processed (an earlier one may have failed). */
  isNext(seq: number): boolean {
    return seq === this.processedSeq + 1;
  }

  /** The handler of `seq` finished: record it, commit it, then ack it. */
  processed(seq: number): void {
    if (seq !== this.processedSeq + 1) return;
    this.processedSeq = seq;
    this.persist();
  }

  /**
   * `seq` was refused for good (`final` error): processed as far as the order goes, and
   * remembered for a resend of it.
   */
  refused(seq: number, error: ErrorFrame): void {
    if (seq !== this.processedSeq + 1) return;
    this.refusals.set(seq, error);
    if (this.refusals.size > MAX_REMEMBERED_REFUSALS) {
      const oldest = this.refusals.keys().next().value;
      if (oldest !== undefined) this.refusals.delete(oldest);
    }
    this.processed(seq);
  }

  /**
   * The handler of `seq` failed, or it was dropped at run time: it is not processed, and
   * the client may send it again (everything queued after it is dropped at its turn).
   */
  failed(seq: number): void {
    if (this.claimed >= seq) this.claimed = Math.max(this.processedSeq, seq - 1);
  }

  /** Commits `processedSeq` to the store (one write at a time, coalesced), then acks it. */
  private persist(): void {
    if (this.persisting || this.processedSeq <= this.persisted) return;
    this.persisting = true;
    const target = this.processedSeq;
    this.host.track(this.host.store.updateSession(this.id, { inSeq: target })).then(
      () => {
        this.persisting = false;
        if (target > this.persisted) {
          this.persisted = target;
          this.connection?.ack(target);
        }
        this.persist();
      },
      (err: unknown) => {
        this.persisting = false;
        // Not acked: the client resends after a reconnect, and the retry happens then.
        // A session evicted or expired meanwhile is gone on purpose: no fault of the server.
        const gone = (err as { code?: unknown } | undefined)?.code === 'SESSION_NOT_FOUND';
        this.host.logger[gone ? 'debug' : 'error'](
          { sid: this.id, inSeq: target, err: err instanceof Error ? err.message : String(err) },
          'storing the processed client sequence failed',
        );
      },
    );
  }
}
