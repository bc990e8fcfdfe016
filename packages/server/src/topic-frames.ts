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
import type { TopicAuthorizer, TopicVerdict } from './options.js';
import type { RouterContext } from './router-context.js';
import { TopicError } from './topics.js';

/** The topic frames: `sub`, `unsub` and `publish`, with their authorization hooks. */

export function onSub(ctx: RouterContext, conn: Connection, frame: SubFrame): void {
  const { topic } = frame;
  authorized(ctx, conn, ctx.options.authorizeSubscribe, topic, undefined, refOf(frame), () => {
    if (conn.topics === undefined) conn.topics = new Set();
    conn.topics.add(topic);
    // Registered now; `subscribed`, the replay and live publications follow in that order.
    const request = frame.from !== undefined ? { from: frame.from } : { last: frame.last ?? 0 };
    ctx.topics.subscribe(conn, topic, request, {
      counters: ctx.counters,
      bufferBytes: ctx.options.slowConsumerBytes,
    });
  });
}

export function onPublish(ctx: RouterContext, conn: Connection, frame: PublishFrame): void {
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
            'the server could not store the publication',
            refOf(frame),
          ),
        );
      },
    );
    track(ctx, conn, answered);
  });
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
  if (conn.topics?.delete(frame.topic)) {
    ctx.topics.unsubscribe(conn, frame.topic);
    conn.enqueue({ t: 'unsubscribed', topic: frame.topic });
  } else {
    conn.sendError(
      errorFrame(ErrorCode.NOT_SUBSCRIBED, `not subscribed to "${frame.topic}"`, refOf(frame)),
    );
  }
}
