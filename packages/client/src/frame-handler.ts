import { type Clock, type Emitter, type TetherError, Timer } from '@tether/common';
import type { ClientFrame, Json, ReqFrame, ServerFrame } from '@tether/protocol';
import { ServerError } from './errors.js';
import type { ClientEventMap } from './events.js';
import type { RequestHandler } from './options.js';
import type { Outbox } from './outbox.js';
import type { PendingRequests } from './requests.js';
import type { StatsTracker } from './stats.js';

/** The parts of the client a frame may act on. */
export interface FrameHost {
  events: Emitter<ClientEventMap>;
  outbox: Outbox;
  requests: PendingRequests;
  tracker: StatsTracker;
  sendControl(frame: ClientFrame): void;
  /** Whether attempt `id` is still the open connection (a late async reply must not cross sockets). */
  isCurrent(id: number): boolean;
  currentAttempt(): number;
  /** A `goodbye` announced the close that follows. */
  setCloseHint(code: number, retryAfterMs: number | undefined): void;
  emitError(error: TetherError): void;
}

interface FrameOptions {
  ackDelayMs: number;
  ackEvery: number;
  onRequest: RequestHandler | undefined;
}

/**
 * Everything the server sends after `welcome`: pings, pongs, messages (acked
 * in batches and deduplicated by `seq`), acks, requests and replies, topic
 * frames, errors and goodbye.
 */
export class FrameHandler {
  /** Highest server `seq` received in this session (sent back in `hello.resume.seq`). */
  lastServerSeq = 0;
  private unacked = 0;
  private readonly ackTimer: Timer;

  constructor(
    private readonly host: FrameHost,
    private readonly options: FrameOptions,
    private readonly clock: Clock,
  ) {
    this.ackTimer = new Timer('tether.client.ack', clock);
  }

  /** The server started a new session: its numbering starts again. */
  newSession(): void {
    this.lastServerSeq = 0;
    this.unacked = 0;
  }

  /** The socket is gone: a pending ack batch cannot be sent (resume reports `seq` instead). */
  connectionEnded(): void {
    this.ackTimer.clear();
    this.unacked = 0;
  }

  handle(frame: ServerFrame): void {
    const { host } = this;
    switch (frame.t) {
      case 'ping':
        host.sendControl({ t: 'pong', ts: frame.ts, rts: this.clock.now() });
        return;
      case 'pong': {
        const rtt = this.clock.now() - frame.ts;
        if (rtt >= 0) host.tracker.recordRtt(rtt);
        return;
      }
      case 'msg':
        if (frame.seq !== undefined && !this.accept(frame.seq)) return;
        host.tracker.messagesReceived += 1;
        host.events.emit('message', { type: 'message', data: frame.data, seq: frame.seq });
        return;
      case 'ack':
        if (host.outbox.ack(frame.seq) > 0)
          host.events.emit('ack', { type: 'ack', seq: frame.seq });
        return;
      case 'req':
        if (frame.seq !== undefined && !this.accept(frame.seq)) return;
        this.answer(frame);
        return;
      case 'res':
        if (typeof frame.id !== 'number') return;
        if (frame.ok) host.requests.resolve(frame.id, frame.data ?? null);
        else {
          const error = frame.error ?? { code: 'INTERNAL', message: 'request failed' };
          host.requests.reject(frame.id, new ServerError(error.code, error.message));
        }
        return;
      case 'error':
        host.emitError(new ServerError(frame.code, frame.message, frame.ref));
        return;
      case 'goodbye':
        host.setCloseHint(frame.code, frame.retryAfter);
        host.events.emit('goodbye', {
          type: 'goodbye',
          code: frame.code,
          reason: frame.reason,
          retryAfter: frame.retryAfter,
        });
        return;
      case 'pub': {
        const { t: _t, ...rest } = frame;
        host.events.emit('pub', { type: 'pub', ...rest });
        return;
      }
      case 'subscribed': {
        const { t: _t, ...rest } = frame;
        host.events.emit('subscribed', { type: 'subscribed', ...rest });
        return;
      }
      case 'unsubscribed': {
        const { t: _t, ...rest } = frame;
        host.events.emit('unsubscribed', { type: 'unsubscribed', ...rest });
        return;
      }
      case 'published': {
        const { t: _t, ...rest } = frame;
        host.events.emit('published', { type: 'published', ...rest });
        return;
      }
      case 'welcome':
        return; // handled by the client; a second one is ignored
    }
  }

  /**
   * Counts a reliable frame for the next ack batch; false for a duplicate
   * (replayed after a resume), which is acknowledged again but not delivered.
   */
  private accept(seq: number): boolean {
    const fresh = seq > this.lastServerSeq;
    if (fresh) this.lastServerSeq = seq;
    this.unacked += 1;
    if (this.unacked >= this.options.ackEvery) this.flushAck();
    else if (!this.ackTimer.active)
      this.ackTimer.start(this.options.ackDelayMs, () => this.flushAck());
    return fresh;
  }

  private flushAck(): void {
    this.ackTimer.clear();
    if (this.unacked === 0) return;
    this.unacked = 0;
    this.host.sendControl({ t: 'ack', seq: this.lastServerSeq });
  }

  private answer(frame: ReqFrame): void {
    const { host } = this;
    const attempt = host.currentAttempt();
    const handler = this.options.onRequest;
    const reply = (ok: boolean, data: Json | undefined, code?: string, message?: string): void => {
      if (!host.isCurrent(attempt)) return;
      if (ok) host.sendControl({ t: 'res', id: frame.id, ok: true, data: data ?? null });
      else
        host.sendControl({
          t: 'res',
          id: frame.id,
          ok: false,
          error: { code: code ?? 'INTERNAL', message: message ?? '' },
        });
    };
    if (!handler) {
      reply(false, undefined, 'NO_HANDLER', `no handler for "${frame.method}" (pass onRequest)`);
      return;
    }
    let result: Json | Promise<Json>;
    try {
      result = handler(frame.method, frame.data);
    } catch (err) {
      reply(false, undefined, 'HANDLER_ERROR', err instanceof Error ? err.message : String(err));
      return;
    }
    Promise.resolve(result).then(
      (data) => reply(true, data),
      (err: unknown) =>
        reply(false, undefined, 'HANDLER_ERROR', err instanceof Error ? err.message : String(err)),
    );
  }
}
