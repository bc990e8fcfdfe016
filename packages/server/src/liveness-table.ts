/** Slots a table starts with; it doubles when full. */
const INITIAL_SLOTS = 64;

/**
 * The heartbeat's view of an endpoint's connections: each connection's last inbound
 * traffic and next ping time (monotonic ms) in one slot of typed arrays, beside a flag
 * for whether it is open.
 *
 * The sweep runs several times per interval (a quarter of the smallest deadline) and
 * has to look at every connection each time. Reading two numbers per slot from
 * contiguous arrays costs little; reading them from thousands of connection objects
 * spread over the heap cost about as much as the pings themselves (a cache miss or more
 * per connection per pass). {@link forEachDue} hands the sweep only the connections
 * that may need it: not open (a handshake, a close under way), a ping due, or silent
 * for `quietMs`.
 *
 * A released slot is reused by the next connection; the table never shrinks (its
 * length is the endpoint's peak of connections, 17 bytes a slot).
 */
export class LivenessTable<T extends object> {
  private seenAt = new Float64Array(INITIAL_SLOTS);
  private dueAt = new Float64Array(INITIAL_SLOTS);
  /** 1: open, its deadlines are the arrays'; 0: the sweep asks the owner (or the slot is free). */
  private openFlag = new Uint8Array(INITIAL_SLOTS);
  private readonly owners: Array<T | undefined> = [];
  private readonly free: number[] = [];
  /** Slots in use are below it. */
  private end = 0;

  /** Takes a slot for `owner`, last seen at `now`, no ping due yet, not open. */
  add(owner: T, now: number): number {
    let slot = this.free.pop();
    if (slot === undefined) {
      slot = this.end;
      this.end += 1;
      if (slot === this.seenAt.length) this.grow();
    }
    this.owners[slot] = owner;
    this.seenAt[slot] = now;
    this.dueAt[slot] = 0;
    this.openFlag[slot] = 0;
    return slot;
  }

  /** Gives `slot` back (the connection is gone from the endpoint). */
  release(slot: number): void {
    if (this.owners[slot] === undefined) return;
    this.owners[slot] = undefined;
    this.openFlag[slot] = 0;
    this.free.push(slot);
  }

  seen(slot: number): number {
    return this.seenAt[slot] as number;
  }

  touch(slot: number, now: number): void {
    this.seenAt[slot] = now;
  }

  due(slot: number): number {
    return this.dueAt[slot] as number;
  }

  setDue(slot: number, at: number): void {
    this.dueAt[slot] = at;
  }

  /** Whether the connection in `slot` is open (its deadlines are the table's alone). */
  setOpen(slot: number, open: boolean): void {
    this.openFlag[slot] = open ? 1 : 0;
  }

  /** Owners in use. */
  get size(): number {
    return this.end - this.free.length;
  }

  /**
   * Calls `visit` for each owner that may need the sweep at `now`: not open, its ping
   * due, or silent for `quietMs` or more. An open connection that is none of these is
   * passed over without reading it.
   */
  forEachDue(now: number, quietMs: number, visit: (owner: T) => void): void {
    const { seenAt, dueAt, openFlag, owners } = this;
    const end = this.end;
    for (let slot = 0; slot < end; slot += 1) {
      if (openFlag[slot] === 1 && now < (dueAt[slot] as number)) {
        if (now - (seenAt[slot] as number) < quietMs) continue;
      }
      const owner = owners[slot];
      if (owner !== undefined) visit(owner);
    }
  }

  private grow(): void {
    const size = this.seenAt.length * 2;
    const seenAt = new Float64Array(size);
    seenAt.set(this.seenAt);
    this.seenAt = seenAt;
    const dueAt = new Float64Array(size);
    dueAt.set(this.dueAt);
    this.dueAt = dueAt;
    const openFlag = new Uint8Array(size);
    openFlag.set(this.openFlag);
    this.openFlag = openFlag;
  }
}
