import { textFrame } from './tether-socket.js';

/** A message shared by the connections of one flush run: its UTF-8 bytes and its text frame. */
export interface SharedMessage {
  readonly data: Buffer;
  /** {@link textFrame} of `data`: header and payload, built once. */
  readonly frame: Buffer;
}

/**
 * How many different messages of one run may start with the same frame and still be
 * shared. Past it a queue is written on its own without searching: connections whose
 * queues all differ (an ack or a reply of their own after the same publication) would
 * otherwise cost a search over all the others each, quadratic in the connections.
 */
export const SHARED_CANDIDATES = 4;

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
  private running = false;
  /**
   * During a run: the messages built so far, by their first frame. Fan-out queues the
   * same frame strings (a publication is encoded once) on every subscriber, so most
   * connections of a run hold the same sequence: its message is joined and converted to
   * UTF-8 bytes once, and every socket is handed the same Buffer.
   */
  private shared: Map<string, Array<SharedMessage & { frames: readonly string[] }>> | undefined;

  /**
   * The bytes of `message` (the frames joined) and their frame, shared with every
   * connection of this run whose queue holds the same frames; undefined outside a run (a
   * write that cannot wait) and past {@link SHARED_CANDIDATES} different messages with
   * the same first frame (the caller writes its own).
   */
  sharedMessage(frames: readonly string[], message: () => string): SharedMessage | undefined {
    const first = frames[0];
    if (!this.running || first === undefined) return undefined;
    // Allocated by the first shared message of a run (a run of replies needs none).
    this.shared ??= new Map();
    const shared = this.shared;
    let candidates = shared.get(first);
    if (candidates === undefined) {
      candidates = [];
      shared.set(first, candidates);
    }
    for (const c of candidates) if (sameFrames(c.frames, frames)) return c;
    if (candidates.length >= SHARED_CANDIDATES) return undefined;
    const data = Buffer.from(message());
    const entry = { frames, data, frame: textFrame(data) };
    candidates.push(entry);
    return entry;
  }

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
    if (items.size === 0) return;
    this.dirty = new Set();
    this.running = true;
    try {
      for (const item of items) item.flush();
    } finally {
      this.running = false;
      this.shared = undefined;
    }
  };
}

/** The same frame strings in the same order (compared by reference first: shared frames are). */
function sameFrames(a: readonly string[], b: readonly string[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i += 1) if (a[i] !== b[i]) return false;
  return true;
}
