import { type Clock, Timer } from '@tether/common';

/** What to do with a reliable server frame. */
export type InboundVerdict = 'deliver' | 'duplicate' | 'gap';

/**
 * The receiving side of the server's reliable frames (`msg` and `req` with
 * `seq`): remembers the highest `seq` received in the session (sent back in
 * `hello.resume.seq`), lets each `seq` through once and in order, and
 * acknowledges cumulatively in batches: after `ackDelayMs`, or at once when
 * `ackEvery` frames are unacknowledged, whichever comes first.
 */
export class Inbox {
  /** Highest server `seq` received in this session, without a gap. */
  private last = 0;
  private unacked = 0;
  private readonly timer: Timer;

  constructor(
    clock: Clock,
    private readonly options: { ackDelayMs: number; ackEvery: number },
    private readonly sendAck: (seq: number) => void,
  ) {
    this.timer = new Timer('tether.client.ack', clock);
  }

  get lastSeq(): number {
    return this.last;
  }

  /**
   * A reliable frame arrived. `deliver`: the next number, hand it to the
   * application. `duplicate` (replayed after a resume, or resent): drop it,
   * but acknowledge it again. `gap`: a number was skipped; nothing is
   * acknowledged, and the caller resumes from {@link lastSeq}.
   */
  receive(seq: number): InboundVerdict {
    if (seq > this.last + 1) return 'gap';
    const verdict = seq === this.last + 1 ? 'deliver' : 'duplicate';
    if (verdict === 'deliver') this.last = seq;
    this.unacked += 1;
    if (this.unacked >= this.options.ackEvery) this.flush();
    else if (!this.timer.active) this.timer.start(this.options.ackDelayMs, () => this.flush());
    return verdict;
  }

  /** Sends the pending acknowledgement now (before a graceful close, or when the batch is full). */
  flush(): void {
    this.timer.clear();
    if (this.unacked === 0) return;
    this.unacked = 0;
    // A duplicate alone still gets its ack: the server resent because an ack was lost.
    this.sendAck(this.last);
  }

  /** The socket is gone: a pending batch cannot be sent (the resume's `seq` reports it instead). */
  connectionEnded(): void {
    this.timer.clear();
    this.unacked = 0;
  }

  /** The server started a new session: its numbering starts again. Returns the old session's last `seq`. */
  newSession(): number {
    const previous = this.last;
    this.last = 0;
    this.unacked = 0;
    this.timer.clear();
    return previous;
  }
}
