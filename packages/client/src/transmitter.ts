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
 * pong, ack, res) go out at once; the outbox (messages and requests) goes out
 * in order once `welcome` arrived, paced by the server's announced rate so
 * that a burst after a reconnect is not cut off with RATE_LIMITED and 1008.
 */
export class Transmitter {
  private conn: SocketConnection | undefined;
  private bucket: TokenBucket | undefined;
  private ready = false;
  private readonly paceTimer: Timer;

  constructor(
    private readonly clock: Clock,
    private readonly outbox: Outbox,
    private readonly requests: PendingRequests,
    private readonly heartbeat: Heartbeat,
    private readonly tracker: StatsTracker,
  ) {
    this.paceTimer = new Timer('tether.client.pace', clock);
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
  }

  /** Writes what the outbox holds, oldest first, as fast as the rate limit allows. */
  flush(): void {
    const conn = this.conn;
    if (!conn || !this.ready || this.paceTimer.active) return;
    for (const entry of this.outbox.unsent()) {
      const now = this.clock.monotonic();
      if (this.bucket && !this.bucket.take(now)) {
        this.paceTimer.start(this.bucket.waitMs(now), () => this.flush());
        return;
      }
      if (!conn.send(entry.encoded)) return;
      this.heartbeat.sent();
      this.tracker.messagesSent += 1;
      this.outbox.markSent(entry);
      if (entry.kind === 'req') this.requests.markSent(entry.id);
    }
  }

  /** Writes a protocol frame now; never queued, never held back (it still spends a token). */
  sendControl(frame: ClientFrame): void {
    if (!this.conn?.send(encodeFrame(frame))) return;
    this.bucket?.spend(this.clock.monotonic());
    this.heartbeat.sent();
  }
}
