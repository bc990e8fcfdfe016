/**
 * One replay page of a connection at a time. Every topic replay of a connection (the
 * first read of a subscription and each page after it) runs its read-and-send step in
 * the connection's lane, in arrival order, so a client that subscribes to many topics
 * with long histories and stops reading holds about one page in the server, not one
 * page per subscription.
 */
export class ReplayLanes<K> {
  private readonly lanes = new Map<K, { tail: Promise<void>; users: number }>();

  /** Runs `step` once the steps queued before it in `key`'s lane have finished. */
  async run<T>(key: K, step: () => Promise<T>): Promise<T> {
    let lane = this.lanes.get(key);
    if (lane === undefined) {
      lane = { tail: Promise.resolve(), users: 0 };
      this.lanes.set(key, lane);
    }
    lane.users += 1;
    const before = lane.tail;
    let release = (): void => {};
    lane.tail = new Promise<void>((resolve) => {
      release = resolve;
    });
    try {
      await before;
      return await step();
    } finally {
      release();
      lane.users -= 1;
      // Nothing queued behind: forget the lane, so closed connections leave nothing.
      if (lane.users === 0) this.lanes.delete(key);
    }
  }

  /** Lanes with a step running or waiting (for tests and stats). */
  get size(): number {
    return this.lanes.size;
  }
}
