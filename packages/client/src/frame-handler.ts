import type { Clock, Emitter, TetherError } from '@tether/common';
import {
  type ClientFrame,
  type Decoded,
  decodeMessage,
  type ErrorFrame,
  type Json,
  type PubFrame,
  type ReqFrame,
  type ServerFrame,
  type WelcomeFrame,
} from '@tether/protocol';
import { SequenceGapError, ServerError, ServerProtocolError } from './errors.js';
import type { ClientEventMap } from './events.js';
import type { Inbox } from './inbox.js';
import type { RequestHandler } from './options.js';
import type { Outbox } from './outbox.js';
import type { PendingRequests } from './requests.js';
import type { StatsTracker } from './stats.js';
import type { Subscriptions } from './subscriptions.js';
import type { Transmitter } from './transmitter.js';

/** The parts of the client a frame may act on. */
export interface FrameHost {
  events: Emitter<ClientEventMap>;
  outbox: Outbox;
  inbox: Inbox;
  requests: PendingRequests;
  subscriptions: Subscriptions;
  transmitter: Transmitter;
  tracker: StatsTracker;
  sendControl(frame: ClientFrame): void;
  /** Whether attempt `id` is still the open connection (a late async reply must not cross sockets). */
  isCurrent(id: number): boolean;
  currentAttempt(): number;
  /** A `goodbye` announced the close that follows. */
  setCloseHint(code: number, retryAfterMs: number | undefined): void;
  emitError(error: TetherError): void;
  /** The server skipped a number: report it and resume on a new connection. */
  sequenceGap(error: SequenceGapError): void;
  /** The server asked for a fresh token (`refresh`): send one from the token provider. */
  refreshToken(): void;
}

/**
 * Everything the server sends after `welcome`: pings, pongs, messages
 * (once and in order by `seq`, acked in batches), acks, requests and replies,
 * topic frames, errors and goodbye.
 */
export class FrameHandler {
  constructor(
    private readonly host: FrameHost,
    private readonly onRequest: RequestHandler | undefined,
    private readonly clock: Clock,
  ) {}

  /**
   * Decodes one WebSocket message and handles its frames in order; `welcome` goes to
   * `onWelcome`. Stops as soon as `current()` says the attempt is over (a listener may
   * have closed the connection).
   */
  handleText(text: string, current: () => boolean, onWelcome: (frame: WelcomeFrame) => void): void {
    let results: Decoded<ServerFrame>[];
    try {
      results = decodeMessage(text, 'server');
    } catch (err) {
      this.host.emitError(
        new ServerProtocolError(`undecodable message from the server: ${String(err)}`, err),
      );
      return;
    }
    for (const result of results) {
      if (!current()) return;
      if (!result.ok)
        this.host.emitError(new ServerProtocolError(result.error.message, result.error));
      else if (result.frame.t === 'welcome') onWelcome(result.frame);
      else this.handle(result.frame);
    }
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
        host.tracker.received();
        host.events.emit('message', { type: 'message', data: frame.data, seq: frame.seq });
        return;
      case 'ack':
        this.acked(frame.seq);
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
          host.requests.reject(
            frame.id,
            new ServerError(error.code, error.message, undefined, { details: error.details }),
          );
        }
        return;
      case 'error':
        this.error(frame);
        return;
      case 'goodbye':
        // The connection is about to close: acknowledge what arrived while it still can.
        host.inbox.flush();
        host.setCloseHint(frame.code, frame.retryAfter);
        host.events.emit('goodbye', {
          type: 'goodbye',
          code: frame.code,
          reason: frame.reason,
          retryAfter: frame.retryAfter,
        });
        return;
      case 'pub':
        host.subscriptions.onPub(frame);
        return;
      case 'pubs': {
        // The `pub` frames it stands for, in order (docs/protocol.md, "pubs").
        const { topic, epoch, offset, data, time } = frame;
        for (let i = 0; i < data.length; i += 1) {
          const pub: PubFrame = {
            t: 'pub',
            topic,
            epoch,
            offset: offset + i,
            data: data[i] ?? null,
          };
          if (time !== undefined) pub.time = time;
          host.subscriptions.onPub(pub);
        }
        return;
      }
      case 'subscribed': {
        const { t: _t, ...rest } = frame;
        host.events.emit('subscribed', { type: 'subscribed', ...rest });
        host.subscriptions.onSubscribed(frame);
        return;
      }
      case 'unsubscribed': {
        const { t: _t, ...rest } = frame;
        host.events.emit('unsubscribed', { type: 'unsubscribed', ...rest });
        host.subscriptions.onUnsubscribed(frame);
        return;
      }
      case 'published': {
        const { t: _t, ...rest } = frame;
        if (typeof frame.id === 'number') {
          host.requests.resolve(frame.id, { epoch: frame.epoch, offset: frame.offset });
          // A reliable publish leaves the outbox once answered and acked.
          host.outbox.answered(frame.id);
        }
        host.events.emit('published', { type: 'published', ...rest });
        return;
      }
      case 'refresh':
        host.refreshToken();
        return;
      case 'authed':
        return; // the fresh token was accepted; nothing to do
      case 'welcome':
        return; // handled by the client; a second one is ignored
    }
  }

  /**
   * A reliable frame: true to deliver it. A duplicate (replayed after a
   * resume) is acknowledged again but not delivered; a gap drops the
   * connection, and the resume asks the server for what is missing.
   */
  private accept(seq: number): boolean {
    const { inbox } = this.host;
    const verdict = inbox.receive(seq);
    if (verdict === 'gap')
      this.host.sequenceGap(new SequenceGapError('seq', inbox.lastSeq + 1, seq));
    return verdict === 'deliver';
  }

  /** A cumulative ack: settles messages, marks reliable requests processed. */
  private acked(seq: number): void {
    const { host } = this;
    const done = host.outbox.ack(seq);
    if (done.length === 0) return;
    for (const entry of done) if (entry.request) host.requests.markProcessed(entry.request.id);
    host.transmitter.acked();
    host.events.emit('ack', { type: 'ack', seq });
  }

  /**
   * An `error` frame: always an `error` event; besides, it fails the request
   * or publish it names, retries a reliable frame or subscribe the server
   * dropped (RATE_LIMITED), or ends a refused subscription.
   */
  private error(frame: ErrorFrame): void {
    const { host } = this;
    const error = new ServerError(frame.code, frame.message, frame.ref, {
      details: frame.details,
      final: frame.final,
    });
    host.emitError(error);
    const ref = frame.ref;
    if (!ref) return;
    if (frame.code === 'TOO_BIG' && ref.t === 'msg' && ref.seq === host.inbox.lastSeq + 1) {
      // The server's message `seq` did not fit the client's maxMessageBytes: it is lost (the
      // error event says so) and counts as received, so the stream goes on after it.
      host.inbox.receive(ref.seq);
      return;
    }
    if (ref.seq !== undefined && (ref.t === 'msg' || ref.t === 'req' || ref.t === 'publish')) {
      if (frame.final === true) {
        // Refused for good: the call fails now, the ack that follows drops the frame.
        const entry = host.outbox.refused(ref.seq, error);
        if (entry?.publish) host.requests.reject(entry.publish.id, error);
        return;
      }
      // A reliable frame the server did not process: it will come again, from it on.
      if (error.code === 'RATE_LIMITED') host.transmitter.dropped(ref.seq);
      return;
    }
    if ((ref.t === 'req' || ref.t === 'publish') && typeof ref.id === 'number') {
      host.requests.reject(ref.id, error);
      return;
    }
    host.subscriptions.onError(error);
  }

  private answer(frame: ReqFrame): void {
    const { host } = this;
    const attempt = host.currentAttempt();
    const handler = this.onRequest;
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
