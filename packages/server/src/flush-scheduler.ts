/** Something that writes what it queued during the current tick. */
export interface Flushable {
  flush(): void;
}

/**
 * Coalesces writes: a connection that queues frames marks itself dirty, and once per
 * event-loop tick (a `setImmediate`, after the poll phase has run every I/O callback
 * that was ready) each dirty connection writes all its frames as one WebSocket message.
 *
 * Fan-out cost is dominated by socket write calls, not by JSON: one write per
 * connection per tick instead of one per frame is the main throughput win. One
 * immediate serves every connection of the server.
 */
export class FlushScheduler {
  private dirty = new Set<Flushable>();
  private scheduled = false;

  mark(item: Flushable): void {
    this.dirty.add(item);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.run);
  }

  /** Removes an item that flushed by itself (a close writes at once). */
  forget(item: Flushable): void {
    this.dirty.delete(item);
  }

  private readonly run = (): void => {
    this.scheduled = false;
    const items = this.dirty;
    this.dirty = new Set();
    for (const item of items) item.flush();
  };
}
