/**
 * A connection's heartbeat timestamps (monotonic ms): the last inbound traffic, when the
 * next ping is due, when the close began, and the round-trip time last measured.
 */
export class ConnectionLiveness {
  private seen: number;
  private pingDue = 0;
  private closingAt: number | undefined;
  private pingSentAt: number | undefined;
  private rtt: number | undefined;

  constructor(now: number) {
    this.seen = now;
  }

  /** Latest inbound traffic of any kind (message, WebSocket ping or pong). */
  get lastSeenAt(): number {
    return this.seen;
  }

  /** When the next heartbeat is due. */
  get nextPingAt(): number {
    return this.pingDue;
  }

  /** When the close began (goodbye + close frame sent), if it did. */
  get closingSince(): number | undefined {
    return this.closingAt;
  }

  get rttMs(): number | undefined {
    return this.rtt;
  }

  touch(now: number): void {
    this.seen = now;
  }

  /**
   * The connection opened at `now`: its first ping is due at a random point within the
   * next `intervalMs` (`phase` in [0, 1)), and every later one an interval after the
   * previous due time. Connections opened together (a reconnect storm, a bench) thus
   * spread their pings over the interval: each pass of the sweep pings a slice of them
   * instead of all at once.
   */
  opened(now: number, intervalMs: number, phase = Math.random()): void {
    this.pingDue = now + Math.max(1, Math.ceil(phase * intervalMs));
  }

  pinged(now: number, intervalMs: number): void {
    // Keeps the phase; after a stall (a due time an interval behind) it starts from now.
    this.pingDue = Math.max(this.pingDue + intervalMs, now + 1);
    this.pingSentAt = now;
  }

  /** A WebSocket pong arrived: the RTT of the last ping, if one is outstanding. */
  ponged(now: number): number | undefined {
    this.seen = now;
    const sent = this.pingSentAt;
    this.pingSentAt = undefined;
    return sent === undefined ? undefined : now - sent;
  }

  /** Keeps a measured RTT; false for one that cannot be real (negative, 10 minutes or more). */
  measured(rttMs: number): boolean {
    if (rttMs < 0 || rttMs >= 600_000) return false;
    this.rtt = rttMs;
    return true;
  }

  closing(now: number): void {
    this.closingAt = now;
  }
}
