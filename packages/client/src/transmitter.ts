import { type Clock, Timer } from '@tether/common';
import { type ClientFrame, encodeFrame } from '@tether/protocol';
import type { Heartbeat } from './heartbeat.js';
import type { Outbox } from './outbox.js';
import { TokenBucket } from './rate-limiter.js';
import type { PendingRequests } from './requests.js';
import type { SocketConnection } from './socket.js';
import type { StatsTracker } from './stats.js';

/**
 * The write path of the current connection. Control frames (hello, ping,
 * pong, ack, res, sub, unsub) go out at once; the outbox (messages, requests,
 * publishes) goes out in order once `welcome` arrived, paced by the server's
 * announced rate so that a burst after a reconnect is not cut off with
 * RATE_LIMITED and 1008.
 *
 * Reliable frames are written again, in order, when the server dropped one
 * (RATE_LIMITED naming its `seq`: after `rateLimitedRetryMs`) or when no ack
 * came for `ackTimeoutMs` (the server deduplicates by `seq`, so a resend is
 * never processed twice).
 */
export class Transmitter {
  private conn: SocketConnection | undefined;
  private bucket: TokenBucket | undefined;
  private ready = false;
  private readonly paceTimer: Timer;
  private readonly ackTimer: Timer;

  constructor(
    private readonly clock: Clock,
    private readonly outbox: Outbox,
    private readonly requests: PendingRequests,
    private readonly heartbeat: Heartbeat,
    private readonly tracker: StatsTracker,
    private readonly timing: { ackTimeoutMs: number; rateLimitedRetryMs: number },
  ) {
    this.paceTimer = new Timer('tether.client.pace', clock);
    this.ackTimer = new Timer('tether.client.ack-timeout', clock);
  }

  /** A new socket: control frames may go out, the outbox waits for {@link ready}. */
  attach(conn: SocketConnection): void {
    this.detach();
    this.conn = conn;
  }

  /** `welcome` arrived with the server's rate limit: the outbox flows. */
  open(rate: number, burst: number): void {
    this.bucket = new TokenBucket(rate, burst, this.clock.monotonic());
    this.ready = true;
    this.flush();
  }

  detach(): void {
    this.conn = undefined;
    this.bucket = undefined;
    this.ready = false;
    this.paceTimer.clear();
    this.ackTimer.clear();
  }

  /** An ack advanced: the ack deadline restarts for what is still in flight. */
  acked(): void {
    if (!this.ready) return;
    if (this.outbox.hasInFlight()) this.armAckTimer(true);
    else this.ackTimer.clear();
  }

  /**
   * The server dropped reliable frame `seq` (RATE_LIMITED) and, as the
   * protocol says, will not process anything after it until it comes again:
   * pause the outbox, then resend from `seq`, in order.
   */
  dropped(seq: number): void {
    if (!this.ready) return;
    this.outbox.rewind(seq);
    this.paceTimer.start(this.timing.rateLimitedRetryMs, () => this.flush());
  }

  /** Writes what the outbox holds, oldest first, as fast as the rate limit allows. */
  flush(): void {
    const conn = this.conn;
    if (!conn || !this.ready || this.paceTimer.active) return;
    for (let entry = this.outbox.nextUnsent(); entry; entry = this.outbox.nextUnsent()) {
      const now = this.clock.monotonic();
      if (this.bucket && !this.bucket.take(now)) {
        this.paceTimer.start(this.bucket.waitMs(now), () => this.flush());
        return;
      }
      if (!conn.send(entry.encoded)) return;
      this.heartbeat.sent();
      this.tracker.sent();
      this.outbox.markSent(entry);
      if (entry.kind === 'once') this.requests.markSent(entry.id);
      else {
        if (entry.request) this.requests.markSent(entry.request.id);
        if (entry.publish) this.requests.markSent(entry.publish.id);
        this.armAckTimer(false);
      }
    }
  }

  /** Resends everything unacknowledged when the server stays silent about it for `ackTimeoutMs`. */
  private armAckTimer(restart: boolean): void {
    if (this.ackTimer.active && !restart) return;
    this.ackTimer.start(this.timing.ackTimeoutMs, () => {
      if (!this.ready || !this.outbox.hasInFlight()) return;
      this.outbox.rewind();
      this.flush();
    });
  }

  /** Writes a protocol frame now; never queued, never held back (it still spends a token). */
  sendControl(frame: ClientFrame): void {
    if (!this.conn?.send(encodeFrame(frame))) return;
    this.bucket?.spend(this.clock.monotonic());
    this.heartbeat.sent();
  }
}
