import {
  ErrorCode,
  type ErrorRef,
  type Json,
  type PublishFrame,
  type SubFrame,
  type UnsubFrame,
} from '@tether/protocol';
import type { Connection } from './connection.js';
import { errorFrame, errorMessage, refOf, truncate } from './frame-errors.js';
import { serial, settle, track } from './handler-runner.js';
import { admitted, notProcessed, refusedFinally } from './message-frames.js';
import type { TopicAuthorizer, TopicVerdict } from './options.js';
import type { RouterContext } from './router-context.js';
import type { Session } from './session.js';
import { StoreError, StoreErrorCode } from './store/index.js';
import { TopicError } from './topics.js';

/** The topic frames: `sub`, `unsub` and `publish`, with their authorization hooks. */

export function onSub(ctx: RouterContext, conn: Connection, frame: SubFrame): void {
  const { topic } = frame;
  if (overCap(ctx, conn, frame)) return;
  authorized(ctx, conn, ctx.options.authorizeSubscribe, topic, undefined, refOf(frame), () => {
    // Checked again: an asynchronous authorizer may have let others in meanwhile.
    if (overCap(ctx, conn, frame)) return;
    conn.addTopic(topic);
    // Registered now; `subscribed`, the replay and live publications follow in that order.
    const request = frame.from !== undefined ? { from: frame.from } : { last: frame.last ?? 0 };
    ctx.topics.subscribe(conn, topic, request, {
      counters: ctx.counters,
      bufferBytes: ctx.options.slowConsumerBytes,
      pageBytes: ctx.options.replayPageBytes,
    });
  });
}

/**
 * A `sub` for a new topic on a connection that holds `maxSubscriptionsPerConnection`:
 * answered TOO_MANY_SUBSCRIPTIONS before anything is authorized, read or written (each
 * topic costs memory here and may cost a row in the store). Resubscribing to a topic it
 * holds is no new subscription.
 */
function overCap(ctx: RouterContext, conn: Connection, frame: SubFrame): boolean {
  const held = conn.topics;
  const max = ctx.options.maxSubscriptionsPerConnection;
  if (held === undefined || held.size < max || held.has(frame.topic)) return false;
  conn.sendError(
    errorFrame(
      ErrorCode.TOO_MANY_SUBSCRIPTIONS,
      `too many subscriptions on this connection (limit ${max}): unsubscribe first`,
      refOf(frame),
    ),
  );
  return true;
}

export function onPublish(ctx: RouterContext, conn: Connection, frame: PublishFrame): void {
  if (frame.seq !== undefined && conn.session !== undefined) {
    onReliablePublish(ctx, conn, conn.session, frame, frame.seq);
    return;
  }
  const authorize = ctx.options.authorizePublish;
  if (authorize === undefined) {
    conn.sendError(
      errorFrame(ErrorCode.FORBIDDEN, 'clients may not publish on this endpoint', refOf(frame)),
    );
    return;
  }
  authorized(ctx, conn, authorize, frame.topic, frame.data, refOf(frame), (data) => {
    // Answered once the store committed it (and it was queued to the subscribers). In
    // flight until then: a graceful shutdown must not close before the answer of a
    // publication it stored (a retrying publisher would publish it twice).
    const answered = ctx.topics.publish(frame.topic, data).then(
      ({ epoch, offset }) =>
        conn.enqueue(
          frame.id === undefined
            ? { t: 'published', topic: frame.topic, epoch, offset }
            : { t: 'published', topic: frame.topic, id: frame.id, epoch, offset },
        ),
      (err: unknown) => {
        if (err instanceof TopicError && err.code === 'INVALID_PAYLOAD') {
          // The client's own input (e.g. nested too deeply to encode): bad input, not a
          // server fault. Nothing was stored.
          ctx.logger.warn(
            { cid: conn.id, topic: frame.topic, err: errorMessage(err) },
            'publication refused: data cannot be encoded',
          );
          conn.sendError(errorFrame(ErrorCode.BAD_FIELD, `data: ${err.message}`, refOf(frame)));
          return;
        }
        ctx.logger.error(
          { cid: conn.id, topic: frame.topic, err: errorMessage(err) },
          'publishing failed',
        );
        conn.sendError(
          errorFrame(
            ErrorCode.INTERNAL,
            err instanceof StoreError && err.code === StoreErrorCode.UNAVAILABLE
              ? 'the store is unavailable: the publication was not stored, publish it again later'
              : 'the server could not store the publication',
            refOf(frame),
          ),
        );
      },
    );
    track(ctx, conn, answered);
  });
}

/**
 * A publish with `seq`: processed once per session, in order with the session's messages
 * and requests (same counter), answered with its position, and acked only once the
 * publication is stored. A resend (after a lost answer) gets the same position again from
 * the session's answers; a refusal (FORBIDDEN, undecodable data) is final; a store failure
 * leaves it unprocessed, so the client sends it again.
 */
function onReliablePublish(
  ctx: RouterContext,
  conn: Connection,
  session: Session,
  frame: PublishFrame,
  seq: number,
): void {
  if (!admitted(ctx, conn, session, frame)) return;
  serial(ctx, conn, () => {
    if (!session.isNext(seq)) return undefined;
    return publishOnce(ctx, conn, session, frame, seq);
  });
}

async function publishOnce(
  ctx: RouterContext,
  conn: Connection,
  session: Session,
  frame: PublishFrame,
  seq: number,
): Promise<void> {
  const { topic } = frame;
  const ref = refOf(frame);
  const authorize = ctx.options.authorizePublish;
  let verdict: TopicVerdict | undefined;
  if (authorize !== undefined) {
    try {
      verdict = await authorize({ connection: conn, topic, data: frame.data });
    } catch (err) {
      ctx.logger.error({ cid: conn.id, topic, err: errorMessage(err) }, 'authorize hook failed');
    }
  }
  if (verdict !== true && !isRewrite(verdict)) {
    const message =
      authorize === undefined
        ? 'clients may not publish on this endpoint'
        : isRefusal(verdict)
          ? truncate(verdict.refuse)
          : `not allowed on topic "${topic}"`;
    refusedFinally(session, seq, errorFrame(ErrorCode.FORBIDDEN, message, ref));
    return;
  }
  const data = isRewrite(verdict) ? verdict.data : frame.data;
  try {
    const { epoch, offset } = await ctx.topics.publish(topic, data);
    session.answer(
      seq,
      frame.id === undefined
        ? { t: 'published', topic, epoch, offset }
        : { t: 'published', topic, id: frame.id, epoch, offset },
    );
    session.processed(seq);
  } catch (err) {
    if (err instanceof TopicError && err.code === 'INVALID_PAYLOAD') {
      refusedFinally(session, seq, errorFrame(ErrorCode.BAD_FIELD, `data: ${err.message}`, ref));
      return;
    }
    ctx.logger.error({ cid: conn.id, topic, err: errorMessage(err) }, 'publishing failed');
    session.connection?.sendError(
      errorFrame(ErrorCode.INTERNAL, 'the server could not store the publication', ref),
    );
    notProcessed(ctx, session, seq);
  }
}

/**
 * Runs `allow` when the authorizer (absent: allowed) says yes, else answers FORBIDDEN.
 * Runs in the connection's serial order, so an asynchronous check cannot reorder a
 * client's subscriptions and publications.
 */
function authorized(
  ctx: RouterContext,
  conn: Connection,
  authorizer: TopicAuthorizer | undefined,
  topic: string,
  data: Json | undefined,
  ref: ErrorRef,
  allow: (data: Json) => void,
): void {
  if (authorizer === undefined) {
    allow(data ?? null);
    return;
  }
  serial(ctx, conn, () =>
    settle(
      () =>
        authorizer(
          data === undefined ? { connection: conn, topic } : { connection: conn, topic, data },
        ),
      (verdict, err) => {
        if (conn.state !== 'open') return;
        if (err !== undefined)
          ctx.logger.error(
            { cid: conn.id, topic, err: errorMessage(err) },
            'authorize hook failed',
          );
        if (verdict === true) allow(data ?? null);
        else if (isRewrite(verdict)) allow(verdict.data);
        else
          conn.sendError(
            errorFrame(
              ErrorCode.FORBIDDEN,
              isRefusal(verdict) ? truncate(verdict.refuse) : `not allowed on topic "${topic}"`,
              ref,
            ),
          );
      },
    ),
  );
}

/** A verdict that allows a publication with other data. */
function isRewrite(verdict: TopicVerdict | undefined): verdict is { data: Json } {
  return typeof verdict === 'object' && verdict !== null && 'data' in verdict;
}

/** A verdict that refuses with a reason of its own. */
function isRefusal(verdict: TopicVerdict | undefined): verdict is { refuse: string } {
  return (
    typeof verdict === 'object' &&
    verdict !== null &&
    typeof (verdict as { refuse?: unknown }).refuse === 'string'
  );
}

export function onUnsub(ctx: RouterContext, conn: Connection, frame: UnsubFrame): void {
  if (conn.removeTopic(frame.topic)) {
    ctx.topics.unsubscribe(conn, frame.topic);
    conn.enqueue({ t: 'unsubscribed', topic: frame.topic });
  } else {
    conn.sendError(
      errorFrame(ErrorCode.NOT_SUBSCRIBED, `not subscribed to "${frame.topic}"`, refOf(frame)),
    );
  }
}
