import type { LivenessTable } from './liveness-table.js';

/**
 * A connection's heartbeat timestamps (monotonic ms): when it opened, the last inbound
 * traffic, when the next ping is due, and the round-trip time last measured (when the
 * close began is the close path's: ConnectionClose). The last inbound traffic and the
 * next ping time live in the endpoint's {@link LivenessTable}, where the sweep reads
 * them without reading the connection, until the connection is gone from the endpoint
 * ({@link leaveTable}); then the last inbound traffic is kept here.
 *
 * The first of the base classes a {@link Connection} is built from (liveness, inbound,
 * work): each keeps its concept in its own file, and an idle connection is still one
 * object, not four (each object costs a header and a pointer to it, per connection).
 *
 * Timestamps are kept in whole ms (floored), so those kept here stay small integers that
 * V8 keeps inside the object instead of a 16-byte heap number each (`performance.now()`
 * is a fraction; a Smi holds up to 2^31 ms, about 24.8 days of process uptime, and a
 * later time is still right, only stored as a heap number). The heartbeat works in
 * whole ms anyway: a connection looks at most 1 ms older than it is. The RTT is kept in
 * whole microseconds for the same reason.
 */
export abstract class ConnectionLiveness {
  /** When the connection was set up (monotonic ms): the handshake timeout counts from here. */
  readonly openedAt: number;
  /** Its slot in the table; -1 once it left it. */
  private slot: number;
  /** The last inbound traffic once it left the table. */
  private seenLast = 0;
  /** The last ping's send time, unfloored (the RTT needs it); undefined once answered. */
  private pingSentAt: number | undefined = undefined;
  private rttUs: number | undefined = undefined;

  constructor(
    now: number,
    private readonly table: LivenessTable<ConnectionLiveness>,
  ) {
    this.openedAt = Math.floor(now);
    this.slot = table.add(this, this.openedAt);
  }

  /** Latest inbound traffic of any kind (message, WebSocket ping or pong). */
  get lastSeenAt(): number {
    return this.slot < 0 ? this.seenLast : this.table.seen(this.slot);
  }

  /** When the next heartbeat is due. */
  get nextPingAt(): number {
    return this.slot < 0 ? 0 : this.table.due(this.slot);
  }

  /** Latest round-trip time in ms (to the microsecond); undefined until measured. */
  get rttMs(): number | undefined {
    return this.rttUs === undefined ? undefined : this.rttUs / 1000;
  }

  protected touch(now: number): void {
    if (this.slot >= 0) this.table.touch(this.slot, Math.floor(now));
  }

  /**
   * The connection opened at `now`: its first ping is due at a random point within the
   * next `intervalMs` (`phase` in [0, 1)), and every later one an interval after the
   * previous due time. Connections opened together (a reconnect storm, a bench) thus
   * spread their pings over the interval: each pass of the sweep pings a slice of them
   * instead of all at once.
   */
  protected opened(now: number, intervalMs: number, phase = Math.random()): void {
    if (this.slot < 0) return;
    this.table.setDue(this.slot, Math.floor(now) + Math.max(1, Math.ceil(phase * intervalMs)));
    this.table.setOpen(this.slot, true);
  }

  protected pinged(now: number, intervalMs: number): void {
    if (this.slot >= 0) {
      // Keeps the phase; after a stall (a due time an interval behind) it starts from now.
      const due = Math.max(this.table.due(this.slot) + intervalMs, Math.floor(now) + 1);
      this.table.setDue(this.slot, due);
    }
    this.pingSentAt = now;
  }

  /** No longer open (a close began): the sweep asks the connection from now on. */
  protected leftOpen(): void {
    if (this.slot >= 0) this.table.setOpen(this.slot, false);
  }

  /** Gone from the endpoint: its slot goes back to the table, the last inbound time stays. */
  leaveTable(): void {
    if (this.slot < 0) return;
    this.seenLast = this.table.seen(this.slot);
    this.table.release(this.slot);
    this.slot = -1;
  }

  /** A WebSocket pong arrived: the RTT of the last ping, if one is outstanding. */
  protected ponged(now: number): number | undefined {
    this.touch(now);
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
