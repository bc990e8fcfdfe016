/**
 * A connection's heartbeat timestamps (monotonic ms): when it opened, the last inbound
 * traffic, when the next ping is due, and the round-trip time last measured (when the
 * close began is the close path's: ConnectionClose).
 *
 * The first of the base classes a {@link Connection} is built from (liveness, inbound,
 * work): each keeps its concept in its own file, and an idle connection is still one
 * object, not four (each object costs a header and a pointer to it, per connection).
 *
 * Timestamps are kept in whole ms (floored), so they stay small integers that V8 keeps
 * inside the object instead of a 16-byte heap number each (`performance.now()` is a
 * fraction; a Smi holds up to 2^31 ms, about 24.8 days of process uptime, and a later
 * time is still right, only stored as a heap number). The heartbeat works in whole ms
 * anyway: a connection looks at most 1 ms older than it is. The RTT is kept in whole
 * microseconds for the same reason.
 */
export abstract class ConnectionLiveness {
  /** When the connection was set up (monotonic ms): the handshake timeout counts from here. */
  readonly openedAt: number;
  private seen: number;
  private pingDue = 0;
  /** The last ping's send time, unfloored (the RTT needs it); undefined once answered. */
  private pingSentAt: number | undefined = undefined;
  private rttUs: number | undefined = undefined;

  constructor(now: number) {
    this.openedAt = Math.floor(now);
    this.seen = this.openedAt;
  }

  /** Latest inbound traffic of any kind (message, WebSocket ping or pong). */
  get lastSeenAt(): number {
    return this.seen;
  }

  /** When the next heartbeat is due. */
  get nextPingAt(): number {
    return this.pingDue;
  }

  /** Latest round-trip time in ms (to the microsecond); undefined until measured. */
  get rttMs(): number | undefined {
    return this.rttUs === undefined ? undefined : this.rttUs / 1000;
  }

  protected touch(now: number): void {
    this.seen = Math.floor(now);
  }

  /**
   * The connection opened at `now`: its first ping is due at a random point within the
   * next `intervalMs` (`phase` in [0, 1)), and every later one an interval after the
   * previous due time. Connections opened together (a reconnect storm, a bench) thus
   * spread their pings over the interval: each pass of the sweep pings a slice of them
   * instead of all at once.
   */
  protected opened(now: number, intervalMs: number, phase = Math.random()): void {
    this.pingDue = Math.floor(now) + Math.max(1, Math.ceil(phase * intervalMs));
  }

  protected pinged(now: number, intervalMs: number): void {
    // Keeps the phase; after a stall (a due time an interval behind) it starts from now.
    this.pingDue = Math.max(this.pingDue + intervalMs, Math.floor(now) + 1);
    this.pingSentAt = now;
  }

  /** A WebSocket pong arrived: the RTT of the last ping, if one is outstanding. */
  protected ponged(now: number): number | undefined {
    this.seen = Math.floor(now);
    const sent = this.pingSentAt;
    this.pingSentAt = undefined;
    return sent === undefined ? undefined : now - sent;
  }

  /**
   * Keeps a measured RTT (rounded to the microsecond, as {@link rttMs} reports it); false
   * for one that cannot be real (negative, 10 minutes or more).
   */
  protected measured(rttMs: number): boolean {
    if (rttMs < 0 || rttMs >= 600_000) return false;
    this.rttUs = Math.round(rttMs * 1000);
    return true;
  }
}
