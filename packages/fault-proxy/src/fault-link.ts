/**
 * The forwarding machinery behind the fault proxy: one {@link Pair} per accepted
 * connection, one {@link Link} per direction, each a queue of chunks released when their
 * latency, the bandwidth cap and the pause switch allow.
 */
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';

/** A throttled link sends at most this much of a second's budget in one write. */
const BANDWIDTH_SLICE_PER_SEC = 20;

/** One queued item: a chunk of data, the sender's FIN, or the sender's abort (RST, error). */
interface Pending {
  data: Buffer | 'fin' | 'rst';
  due: number;
}

/** Bytes delivered, per direction (client -> target, target -> client). */
export interface Traffic {
  toTarget: number;
  toClient: number;
}

/** State shared by every link of one proxy. */
export interface Faults {
  latencyMs: number;
  jitterMs: number;
  bytesPerSec: number | null;
  paused: boolean;
  random: () => number;
  highWaterMark: number;
  traffic: Traffic;
}

/** One direction of one connection pair. */
class Link {
  private readonly queue: Pending[] = [];
  private queuedBytes = 0;
  private lastDue = 0;
  private nextSendAt = 0;
  private waitingForDrain = false;
  private pumpTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private aborted = false;

  constructor(
    private readonly from: Socket,
    private readonly to: Socket,
    private readonly faults: Faults,
    private readonly direction: keyof Traffic,
  ) {
    from.on('data', (data: Buffer) => this.enqueue(data));
    from.on('end', () => this.enqueue('fin'));
    // An abort travels like data (after latency, held while paused): a half-open link
    // must not tell the other side that this side died.
    from.on('error', () => this.enqueue('rst'));
    from.on('close', (hadError) => {
      if (hadError) this.enqueue('rst');
    });
  }

  private enqueue(data: Pending['data']): void {
    if (this.closed || this.aborted) return;
    if (data === 'rst') this.aborted = true;
    const { latencyMs, jitterMs, random } = this.faults;
    const delay = latencyMs + (jitterMs > 0 ? random() * jitterMs : 0);
    // TCP never reorders, so jitter must not either.
    const due = Math.max(performance.now() + delay, this.lastDue);
    this.lastDue = due;
    this.queue.push({ data, due });
    if (typeof data !== 'string') {
      this.queuedBytes += data.length;
      if (this.queuedBytes >= this.faults.highWaterMark) this.from.pause();
    }
    this.pump();
  }

  /** Delivers whatever is due; re-arms its timer for what is not. */
  pump(): void {
    this.clearPumpTimer();
    if (this.closed || this.faults.paused || this.waitingForDrain) return;
    for (;;) {
      const head = this.queue[0];
      if (head === undefined) break;
      const now = performance.now();
      if (head.due > now) {
        this.schedule(head.due - now);
        return;
      }
      if (this.to.destroyed) {
        this.close();
        return;
      }
      if (head.data === 'fin' || head.data === 'rst') {
        this.queue.shift();
        if (head.data === 'fin') this.to.end();
        else abort(this.to);
        continue;
      }
      const { bytesPerSec } = this.faults;
      let piece = head.data;
      if (bytesPerSec !== null) {
        if (this.nextSendAt > now) {
          this.schedule(this.nextSendAt - now);
          return;
        }
        const slice = Math.max(1, Math.floor(bytesPerSec / BANDWIDTH_SLICE_PER_SEC));
        piece = head.data.subarray(0, slice);
        this.nextSendAt = Math.max(now, this.nextSendAt) + (piece.length * 1000) / bytesPerSec;
      }
      if (piece.length === head.data.length) this.queue.shift();
      else head.data = head.data.subarray(piece.length);
      this.queuedBytes -= piece.length;
      this.faults.traffic[this.direction] += piece.length;
      if (!this.to.write(piece)) {
        this.waitingForDrain = true;
        this.to.once('drain', () => {
          this.waitingForDrain = false;
          this.pump();
        });
        break;
      }
    }
    if (this.queuedBytes < this.faults.highWaterMark && this.from.isPaused()) this.from.resume();
  }

  /** Bytes of data, and items (data, FIN, RST), read but not delivered yet. */
  get held(): { bytes: number; items: number } {
    return { bytes: this.queuedBytes, items: this.queue.length };
  }

  close(): void {
    this.closed = true;
    this.clearPumpTimer();
    this.queue.length = 0;
    this.queuedBytes = 0;
  }

  private schedule(ms: number): void {
    this.pumpTimer = setTimeout(() => this.pump(), Math.max(1, Math.ceil(ms)));
    this.pumpTimer.unref();
  }

  private clearPumpTimer(): void {
    if (this.pumpTimer !== undefined) clearTimeout(this.pumpTimer);
    this.pumpTimer = undefined;
  }
}

/** A client socket, its upstream socket, and the two links between them. */
export class Pair {
  private readonly links: [Link, Link];
  private openSockets = 2;

  constructor(
    readonly client: Socket,
    readonly upstream: Socket,
    faults: Faults,
    private readonly onDone: (pair: Pair) => void,
  ) {
    this.links = [
      new Link(client, upstream, faults, 'toTarget'),
      new Link(upstream, client, faults, 'toClient'),
    ];
    for (const socket of [client, upstream]) {
      socket.setNoDelay(true);
      // Errors (ECONNRESET, ECONNREFUSED upstream) are handled by the links, which abort the
      // peer the same way in order, so the client sees what it would see without the proxy.
      socket.on('close', () => {
        this.openSockets -= 1;
        if (this.openSockets === 0) this.dispose();
      });
    }
  }

  pump(): void {
    for (const link of this.links) link.pump();
  }

  /** Adds what its links hold to `into`. */
  addHeld(into: { bytes: number; items: number }): void {
    for (const link of this.links) {
      const { bytes, items } = link.held;
      into.bytes += bytes;
      into.items += items;
    }
  }

  /** Aborts both sockets now and drops held data. */
  reset(): void {
    abort(this.client);
    abort(this.upstream);
    this.dispose();
  }

  /** Destroys both sockets (FIN, not RST) and drops held data. */
  destroy(): void {
    this.client.destroy();
    this.upstream.destroy();
    this.dispose();
  }

  private dispose(): void {
    for (const link of this.links) link.close();
    this.onDone(this);
  }
}

/**
 * Resets `socket` (TCP RST) when it can, destroys it otherwise (still connecting, or
 * already ended). Exported as `abortSocket`.
 */
export function abort(socket: Socket): void {
  if (socket.destroyed) return;
  // resetAndDestroy() on a socket still connecting waits for the connection first; on one
  // already ended it fails while the FIN is in flight (EINVAL) and never closes the socket.
  if (!socket.connecting && !socket.writableEnded && typeof socket.resetAndDestroy === 'function') {
    try {
      socket.resetAndDestroy();
      return;
    } catch {
      // Not a TCP handle (never the case here) or already closing: fall through.
    }
  }
  socket.destroy();
}
