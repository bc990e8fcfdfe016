import {
  ErrorCode,
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
  if (!admitted(ctx, conn, session, frame)) return;
  serial(ctx, conn, () => {
    // An earlier frame failed after this one was queued: not processed, not acked.
    if (!session.isNext(seq)) return undefined;
    const handler = ctx.messageHandler;
    const listened = ctx.hasMessageListeners();
    if (handler === undefined && !listened) {
      // Final: nobody will ever take it, so it must not hold up the session.
      refusedFinally(
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
          // The application's deliberate, final answer: the client's send() rejects with it.
          refusedFinally(session, seq, replyErrorFrame(err, refOf(frame)));
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
 * dropped (and acked again once processed; its answer, if it had one, is sent again); a
 * frame after a gap is dropped unacked, so the client resends from the gap: the server
 * never acks past a seq it did not process.
 */
export function admitted(
  ctx: RouterContext,
  conn: Connection,
  session: Session,
  frame: { t: 'msg' | 'req' | 'publish'; seq?: number },
): boolean {
  const seq = frame.seq as number;
  const verdict = session.admit(seq);
  if (verdict === 'run') return true;
  if (verdict === 'duplicate') {
    ctx.counters.add('duplicatesDropped');
    if (frame.t === 'publish' && session.answerLost(seq)) {
      // Published once; which position it got is no longer known here.
      session.connection?.sendError({
        ...errorFrame(
          ErrorCode.ALREADY_PROCESSED,
          'this publish was processed before and its answer is no longer held',
          refOf(frame),
        ),
        final: true,
      });
    }
  } else {
    ctx.counters.add('outOfOrderDropped');
    ctx.logger.debug(
      { cid: conn.id, seq, processed: session.inSeq },
      'reliable frame after a gap, dropped',
    );
  }
  return false;
}

/**
 * A reliable frame refused for good (nobody handles it, the application refused it): the
 * client learns it from an `error` with `final: true`, and the frame counts as processed,
 * so the session's later frames flow and a resend is answered, never run.
 */
export function refusedFinally(session: Session, seq: number, frame: ErrorFrame): void {
  session.answer(seq, { ...frame, final: true });
  session.processed(seq);
}

/** The error frame of a {@link ReplyError}: its code, message and details. */
export function replyErrorFrame(err: ReplyError, ref: ReturnType<typeof refOf>): ErrorFrame {
  const frame: ErrorFrame = { t: 'error', code: err.code, message: truncate(err.message), ref };
  return err.details === undefined ? frame : { ...frame, details: err.details };
}

/** A reliable frame whose handler failed: not processed, not acked. */
export function notProcessed(ctx: RouterContext, session: Session, seq: number): void {
  ctx.counters.add('failedProcessing');
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
  if (!admitted(ctx, conn, session, frame)) return;
  if (!roomForRequest(ctx, conn, frame)) {
    // Refused unrun: released, so that the client's resend of this seq runs later.
    session.failed(seq);
    return;
  }
  serial(ctx, conn, () => {
    if (!session.isNext(seq)) {
      conn.work.requestAnswered();
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
  if (conn.work.pendingRequests < max) {
    conn.work.requestAccepted();
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
    conn.work.requestAnswered();
    conn.enqueue({
      t: 'res',
      id,
      ok: false,
      error: { code: ErrorCode.NO_HANDLER, message: `no handler for method "${method}"` },
    });
    // A final answer: nobody takes this method, so a reliable request must not hold up the session.
    outcome?.(true);
    return undefined;
  }
  const reply = (result: Json | undefined, err: unknown): void => {
    conn.work.requestAnswered();
    if (err === undefined) {
      try {
        conn.reply(
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
    const details = err instanceof ReplyError ? err.details : undefined;
    conn.reply({
      t: 'res',
      id,
      ok: false,
      error:
        details === undefined
          ? { code, message: truncate(errorMessage(err)) }
          : { code, message: truncate(errorMessage(err)), details },
    });
    outcome?.(err instanceof ReplyError);
  };
  return settle<Json | undefined>(
    () => handler(frame.data, { connection: asOpen(conn), method, id }),
    reply,
  );
}
