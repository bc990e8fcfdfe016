import { type Clock, Timer } from '@tether/common';
import type { Json } from '@tether/protocol';
import { RequestTimeoutError } from './errors.js';

interface Pending {
  method: string;
  timeoutMs: number;
  deadline: number;
  /** Written to a socket: a drop now leaves its fate unknown. */
  sent: boolean;
  /** Numbered (`seq`) and resent after a reconnect until the server acknowledges it. */
  reliable: boolean;
  /** The server acknowledged it: it ran, only the reply can still be lost. */
  processed: boolean;
  resolve: (data: Json) => void;
  reject: (err: unknown) => void;
}

/**
 * Requests waiting for their `res`. One timer serves them all, armed for the
 * earliest deadline (a sweep, not a timer per request).
 */
export class PendingRequests {
  private readonly pending = new Map<number, Pending>();
  private readonly timer: Timer;
  private nextId = 1;

  constructor(
    private readonly clock: Clock,
    /** Called when a request times out, so an unsent one leaves the outbox. */
    private readonly onTimeout: (id: number) => void,
  ) {
    this.timer = new Timer('tether.client.request-deadline', clock);
  }

  get size(): number {
    return this.pending.size;
  }

  /**
   * Registers a request (or a publish: `method` is then `publish <topic>`);
   * returns its id and the promise of its reply.
   */
  create(
    method: string,
    timeoutMs: number,
    reliable = false,
  ): { id: number; promise: Promise<Json> } {
    const id = this.nextId++;
    const promise = new Promise<Json>((resolve, reject) => {
      this.pending.set(id, {
        method,
        timeoutMs,
        deadline: this.clock.monotonic() + timeoutMs,
        sent: false,
        reliable,
        processed: false,
        resolve,
        reject,
      });
    });
    this.arm();
    return { id, promise };
  }

  markSent(id: number): void {
    const entry = this.pending.get(id);
    if (entry) entry.sent = true;
  }

  /** The server acknowledged reliable request `id`: it was processed. */
  markProcessed(id: number): void {
    const entry = this.pending.get(id);
    if (entry) entry.processed = true;
  }

  has(id: number): boolean {
    return this.pending.has(id);
  }

  isReliable(id: number): boolean {
    return this.pending.get(id)?.reliable === true;
  }

  /** Settles request `id`; false when unknown (late reply after a timeout). */
  resolve(id: number, data: Json): boolean {
    const entry = this.take(id);
    entry?.resolve(data);
    return entry !== undefined;
  }

  reject(id: number, err: unknown): boolean {
    const entry = this.take(id);
    entry?.reject(err);
    return entry !== undefined;
  }

  /**
   * The connection dropped. Requests already written fail with
   * `makeError(processed)`; unsent ones wait. A reliable request waits too (it
   * is resent after the reconnect), unless the server acknowledged it: then it
   * ran and its reply was lost with the connection.
   */
  failSent(makeError: (processed: boolean) => unknown): void {
    for (const [id, entry] of [...this.pending]) {
      if (!entry.sent) continue;
      if (entry.reliable && !entry.processed) {
        entry.sent = false;
        continue;
      }
      this.reject(id, makeError(entry.processed));
    }
  }

  /** Rejects every request. */
  rejectAll(err: unknown): void {
    for (const id of [...this.pending.keys()]) this.reject(id, err);
  }

  private take(id: number): Pending | undefined {
    const entry = this.pending.get(id);
    if (!entry) return undefined;
    this.pending.delete(id);
    this.arm();
    return entry;
  }

  private arm(): void {
    let earliest = Number.POSITIVE_INFINITY;
    for (const entry of this.pending.values()) earliest = Math.min(earliest, entry.deadline);
    if (earliest === Number.POSITIVE_INFINITY) {
      this.timer.clear();
      return;
    }
    this.timer.start(Math.max(0, earliest - this.clock.monotonic()), () => this.expire());
  }

  private expire(): void {
    const now = this.clock.monotonic();
    for (const [id, entry] of [...this.pending]) {
      if (entry.deadline <= now) {
        this.onTimeout(id);
        this.reject(id, new RequestTimeoutError(entry.method, entry.timeoutMs));
      }
    }
    this.arm();
  }
}
