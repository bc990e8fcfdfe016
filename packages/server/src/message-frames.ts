import {
  ErrorCode,
  type ErrorCodeName,
  type ErrorFrame,
  type Json,
  type MsgFrame,
  type ReqFrame,
} from '@tether/protocol';
import type { Connection } from './connection.js';
import { asOpen } from './connection-types.js';
import { ReplyError } from './errors.js';
import { errorFrame, errorMessage, refOf, truncate } from './frame-errors.js';
import { serial, settle, track } from './handler-runner.js';
import type { RouterContext } from './router-context.js';
import type { Session } from './session.js';

/**
 * The application frames: `msg` and `req`. A reliable one (with `seq`) is processed once
 * per session, in order, across reconnects, and acked only once processed; see
 * {@link Session}. Fire-and-forget ones run in order with the rest, unacked.
 */

export function onMsg(ctx: RouterContext, conn: Connection, frame: MsgFrame): void {
  const session = conn.session;
  if (session === undefined) return;
  const { seq, data } = frame;
  if (seq === undefined) {
    onUnreliableMsg(ctx, conn, data);
    return;
  }
  if (!admitted(ctx, conn, session, seq)) return;
  serial(ctx, conn, () => {
    // An earlier frame failed after this one was queued: not processed, not acked.
    if (!session.isNext(seq)) return undefined;
    const handler = ctx.messageHandler;
    const listened = ctx.hasMessageListeners();
    if (handler === undefined && !listened) {
      // Final: nobody will ever handle it, so holding it would block the session for good.
      refused(
        ctx,
        conn,
        session,
        seq,
        errorFrame(ErrorCode.NO_HANDLER, 'this endpoint has no message handler', refOf(frame)),
      );
      return undefined;
    }
    if (listened) ctx.emitMessage({ connection: asOpen(conn), data, seq });
    if (handler === undefined) {
      session.processed(seq);
      return undefined;
    }
    return settle(
      () => handler(data, { connection: asOpen(conn), seq }),
      (_value, err) => {
        if (err === undefined) {
          session.processed(seq);
          return;
        }
        if (err instanceof ReplyError) {
          refused(
            ctx,
            conn,
            session,
            seq,
            errorFrame(err.code as ErrorCodeName, truncate(err.message), refOf(frame)),
          );
          return;
        }
        ctx.logger.error({ cid: conn.id, seq, err: errorMessage(err) }, 'message handler failed');
        conn.sendError(
          errorFrame(ErrorCode.HANDLER_ERROR, truncate(errorMessage(err)), refOf(frame)),
        );
        notProcessed(ctx, session, seq);
      },
    );
  });
}

/** A fire-and-forget `msg`: handled in order with the rest, never acked or deduplicated. */
function onUnreliableMsg(ctx: RouterContext, conn: Connection, data: Json): void {
  const handler = ctx.messageHandler;
  const listened = ctx.hasMessageListeners();
  if (handler === undefined && !listened) {
    conn.sendError(
      errorFrame(ErrorCode.NO_HANDLER, 'this endpoint has no message handler', { t: 'msg' }),
    );
    return;
  }
  if (listened) ctx.emitMessage({ connection: asOpen(conn), data, seq: undefined });
  if (handler === undefined) return;
  serial(ctx, conn, () =>
    settle(
      () => handler(data, { connection: asOpen(conn), seq: undefined }),
      (_value, err) => {
        if (err === undefined) return;
        ctx.logger.error({ cid: conn.id, err: errorMessage(err) }, 'message handler failed');
        conn.sendError(
          errorFrame(ErrorCode.HANDLER_ERROR, truncate(errorMessage(err)), { t: 'msg' }),
        );
      },
    ),
  );
}

/**
 * Whether a reliable frame is the session's next one (then it is claimed). A duplicate is
 * dropped (and acked again once processed); a frame after a gap is dropped unacked, so the
 * client resends from the gap: the server never acks past a seq it did not process.
 */
function admitted(ctx: RouterContext, conn: Connection, session: Session, seq: number): boolean {
  const verdict = session.admit(seq);
  if (verdict === 'run') return true;
  if (verdict === 'duplicate') {
    ctx.counters.duplicatesDropped += 1;
  } else {
    ctx.counters.outOfOrderDropped += 1;
    ctx.logger.debug(
      { cid: conn.id, seq, processed: session.inSeq },
      'reliable frame after a gap, dropped',
    );
  }
  return false;
}

/**
 * A reliable `msg` refused for good (a `ReplyError` from the handler, or no handler): it
 * counts as processed and is acked, and the client learns from the `final` error frame,
 * sent before the ack, that its `send()` failed. The session keeps the frame for a
 * resend of the same seq (the error may have been lost with the connection).
 */
function refused(
  ctx: RouterContext,
  conn: Connection,
  session: Session,
  seq: number,
  frame: ErrorFrame,
): void {
  const final: ErrorFrame = { ...frame, final: true };
  ctx.logger.debug({ cid: conn.id, seq, code: frame.code }, 'reliable message refused for good');
  session.refused(seq, final);
  conn.sendError(final);
}

/** A reliable frame whose handler failed: not processed, not acked. */
function notProcessed(ctx: RouterContext, session: Session, seq: number): void {
  ctx.counters.failedProcessing += 1;
  session.failed(seq);
}

export function onReq(ctx: RouterContext, conn: Connection, frame: ReqFrame): void {
  const session = conn.session;
  const seq = frame.seq;
  if (seq === undefined || session === undefined) {
    if (!roomForRequest(ctx, conn, frame)) return;
    const pending = runRequest(ctx, conn, frame, undefined);
    if (pending !== undefined) track(ctx, conn, pending);
    return;
  }
  if (!admitted(ctx, conn, session, seq)) return;
  if (!roomForRequest(ctx, conn, frame)) {
    // Refused unrun: released, so that the client's resend of this seq runs later.
    session.failed(seq);
    return;
  }
  serial(ctx, conn, () => {
    if (!session.isNext(seq)) {
      conn.pendingRequests -= 1;
      return undefined;
    }
    return runRequest(ctx, conn, frame, (answered) => {
      if (answered) session.processed(seq);
      else notProcessed(ctx, session, seq);
    });
  });
}

/**
 * Counts a request as pending, or answers TOO_MANY_REQUESTS when the connection already
 * has `maxPendingRequests` unanswered: handlers that never answer (or a client that never
 * stops asking) would otherwise pile up frames and closures without bound.
 */
function roomForRequest(ctx: RouterContext, conn: Connection, frame: ReqFrame): boolean {
  const max = ctx.options.maxPendingRequests;
  if (conn.pendingRequests < max) {
    conn.pendingRequests += 1;
    return true;
  }
  ctx.logger.debug({ cid: conn.id, id: frame.id, max }, 'too many pending requests');
  conn.enqueue({
    t: 'res',
    id: frame.id,
    ok: false,
    error: {
      code: ErrorCode.TOO_MANY_REQUESTS,
      message: `too many requests waiting for an answer on this connection (limit ${max}): wait for some replies`,
    },
  });
  return false;
}

/**
 * Runs a request handler and queues its `res`. `outcome` learns whether the request
 * counts as processed: a result or a `ReplyError` (a deliberate answer) does; a missing
 * handler or an unexpected throw does not, so a reliable request is not acked then.
 */
function runRequest(
  ctx: RouterContext,
  conn: Connection,
  frame: ReqFrame,
  outcome: ((processed: boolean) => void) | undefined,
): Promise<void> | undefined {
  const { id, method } = frame;
  const handler = ctx.requestHandler(method);
  if (handler === undefined) {
    conn.pendingRequests -= 1;
    conn.enqueue({
      t: 'res',
      id,
      ok: false,
      error: { code: ErrorCode.NO_HANDLER, message: `no handler for method "${method}"` },
    });
    // A final answer: a reliable request nobody handles must not block the session.
    outcome?.(true);
    return undefined;
  }
  const reply = (result: Json | undefined, err: unknown): void => {
    conn.pendingRequests -= 1;
    if (err === undefined) {
      try {
        conn.enqueue(
          result === undefined
            ? { t: 'res', id, ok: true }
            : { t: 'res', id, ok: true, data: result },
        );
        outcome?.(true);
        return;
      } catch (encodeErr) {
        err = new Error(`the result is not JSON: ${errorMessage(encodeErr)}`);
      }
    }
    const code = err instanceof ReplyError ? err.code : ErrorCode.HANDLER_ERROR;
    if (!(err instanceof ReplyError)) {
      ctx.logger.error({ cid: conn.id, method, err: errorMessage(err) }, 'request handler failed');
    }
    conn.enqueue({
      t: 'res',
      id,
      ok: false,
      error: { code, message: truncate(errorMessage(err)) },
    });
    outcome?.(err instanceof ReplyError);
  };
  return settle<Json | undefined>(
    () => handler(frame.data, { connection: asOpen(conn), method, id }),
    reply,
  );
}
