import type { ErrorFrame, PublishedFrame } from '@tether/protocol';
import type { Connection } from './connection.js';
import type { Logger } from './logger.js';
import type { ResolvedEndpointOptions } from './options.js';
import { SessionInbound } from './session-inbound.js';
import { SessionOutbox } from './session-outbox.js';
import type { EndpointCounters, ResumeFailure } from './stats.js';
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

/** The session a hello led to, and what the welcome says about it. */
export interface SessionGrant {
  session: Session;
  /** Resume token for the next hello. */
  token: string;
  resumed: boolean;
  /** Why a requested resume failed. */
  reason?: ResumeFailure;
  /** The session id the hello asked to resume, if it asked. */
  requested?: string;
  /** The first page of the replay (messages after `hello.resume.seq`). */
  preload: readonly SessionMessage[];
}

/** Where a message sent with `sendTo` / `sendToUser` landed. */
export interface SendResult {
  sessionId: string;
  /** Its sequence number in the session (the `seq` of the `msg` frame). */
  seq: number;
}

/** What happens to an arriving reliable client frame (`msg` or `req` with `seq`). */
export type Admission =
  /** The next one: run its handler (after the ones before it). */
  | 'run'
  /** Processed already, or being processed: dropped; its ack comes (or came) anyway. */
  | 'duplicate'
  /** One before it is missing (dropped, failed): dropped unacked, the client resends from the gap. */
  | 'out-of-order';

/** What a reliable frame was answered with: a reliable publish's position, or a final refusal. */
export type ReliableAnswer = PublishedFrame | ErrorFrame;

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
export class Session extends SessionOutbox {
  private windowEnd: number | undefined = undefined;
  private tail: Promise<void> | undefined = undefined;
  /** Client -> server state, built with the first reliable frame (see SessionInbound). */
  private reliable: SessionInbound | undefined;

  constructor(
    readonly id: string,
    readonly userId: string | null,
    counters: SessionCounters,
    host: SessionHost,
  ) {
    super(counters.outSeq, counters.ackedSeq, host);
    this.reliable = counters.inSeq > 0 ? new SessionInbound(counters.inSeq) : undefined;
  }

  /** Server -> client delivery (the base class: one object per session). */
  get out(): SessionOutbox {
    return this;
  }

  /** Highest client seq the store knows was processed (`welcome.ack`). */
  get inSeq(): number {
    return this.reliable?.persisted ?? 0;
  }

  /** While disconnected: when the resume window ends (wall-clock ms). */
  get expiresAt(): number | undefined {
    return this.windowEnd;
  }

  /** Tail of the chain that runs the handlers of the session's connections in order. */
  get serialTail(): Promise<void> | undefined {
    return this.tail;
  }

  setSerialTail(tail: Promise<void> | undefined): void {
    this.tail = tail;
  }

  /** Whether writes of this session are still on their way to the store. */
  get busy(): boolean {
    return (this.reliable?.busy ?? false) || this.outBusy;
  }

  /** Binds `connection` (new, or resuming from `fromSeq`); delivery starts with {@link start}. */
  bind(connection: Connection, fromSeq: number): void {
    this.windowEnd = undefined;
    this.bindOut(connection, fromSeq);
  }

  /** The bound connection went away; the resume window ends at `expiresAt`. */
  unbind(expiresAt?: number): void {
    this.windowEnd = expiresAt;
    this.unbindOut();
  }

  /**
   * The stored record, which another process sharing the store may have moved on (it held
   * the session, processed the client's messages, appended to the log): counters only
   * move forward; an unbound session takes the record's resume window.
   */
  refresh(record: SessionCounters & { expiresAt: number | null }): void {
    if (this.reliable !== undefined) this.reliable.refresh(record.inSeq);
    else if (record.inSeq > 0) this.reliable = new SessionInbound(record.inSeq);
    this.refreshOut(record.outSeq, record.ackedSeq);
    if (this.connection === undefined) this.windowEnd = record.expiresAt ?? undefined;
  }

  /** A stored session, not bound here: its resume window ends at `expiresAt`. */
  resumableUntil(expiresAt: number): void {
    this.windowEnd = expiresAt;
  }

  /** After `welcome`: replays `preload` and whatever else is missed, then goes live. */
  start(connection: Connection, preload: readonly SessionMessage[]): void {
    this.startOut(connection, preload);
  }

  // ---- client -> server ----

  /** Decides about an arriving reliable frame; a `run` claims its seq. */
  admit(seq: number): Admission {
    this.reliable ??= new SessionInbound(0);
    const r = this.reliable;
    if (seq <= r.claimed) {
      // A resend after its answer was lost: the same answer again, before the ack.
      const answer = r.answerFor(seq);
      if (answer !== undefined) this.sendAnswer(answer);
      if (seq <= r.persisted) {
        this.connection?.ack(r.persisted, true);
      } else if (seq <= r.processed && !r.busy) {
        // Processed, but its commit failed earlier: try again, the ack follows it.
        this.persist();
      }
      return 'duplicate';
    }
    if (seq > r.claimed + 1) return 'out-of-order';
    r.claim(seq);
    return 'run';
  }

  /** At run time: whether `seq` still follows what was processed (an earlier one may have failed). */
  isNext(seq: number): boolean {
    return seq === (this.reliable?.processed ?? 0) + 1;
  }

  /**
   * `seq` was answered (before it counts as processed): the answer goes to the connection
   * bound now (the one that sent the frame may be gone) and is kept for resends.
   */
  answer(seq: number, frame: ReliableAnswer): void {
    this.reliable ??= new SessionInbound(0);
    this.reliable.remember(seq, frame);
    this.sendAnswer(frame);
  }

  /**
   * Whether `seq`, a duplicate, was processed and committed but its answer is not held
   * (evicted, or lost with a restart). One still running gets its answer when done.
   */
  answerLost(seq: number): boolean {
    const r = this.reliable;
    return seq <= (r?.persisted ?? 0) && r?.answerFor(seq) === undefined;
  }

  private sendAnswer(frame: ReliableAnswer): void {
    const conn = this.connection;
    if (conn === undefined || conn.state !== 'open') return;
    if (frame.t === 'error') conn.sendError(frame);
    else conn.enqueue(frame);
  }

  /** The handler of `seq` finished: record it, commit it, then ack it. */
  processed(seq: number): void {
    this.reliable ??= new SessionInbound(0);
    if (this.reliable.markProcessed(seq)) this.persist();
  }

  /**
   * The handler of `seq` failed, or it was dropped at run time: it is not processed, and
   * the client may send it again (everything queued after it is dropped at its turn).
   */
  failed(seq: number): void {
    this.reliable?.failed(seq);
  }

  /** Commits `processedSeq` to the store (one write at a time, coalesced), then acks it. */
  private persist(): void {
    const r = this.reliable;
    const target = r?.beginCommit();
    if (r === undefined || target === undefined) return;
    this.host.track(this.host.store.updateSession(this.id, { inSeq: target })).then(
      () => {
        if (r.endCommit(target)) this.connection?.ack(target);
        this.persist();
      },
      (err: unknown) => {
        r.endCommit();
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
