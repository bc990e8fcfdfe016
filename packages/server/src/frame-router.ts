import { messageText } from '@tether/common';
import {
  type ClientFrame,
  CloseCode,
  type Decoded,
  decodeMessage,
  ErrorCode,
  type ErrorRef,
  type HelloFrame,
  PROTOCOL_VERSION,
} from '@tether/protocol';
import type { RawData } from 'ws';
import { onAuth } from './auth-frames.js';
import type { Connection } from './connection.js';
import { asProtocolError, errorFrame, errorMessage, refOf } from './frame-errors.js';
import { onMsg, onReq } from './message-frames.js';
import type { RouterContext } from './router-context.js';
import type { SessionGrant } from './session.js';
import { StoreError, StoreErrorCode } from './store/index.js';
import { onPublish, onSub, onUnsub } from './topic-frames.js';

/**
 * Frame dispatch: every inbound WebSocket message of an endpoint goes through
 * {@link routeMessage}. Bad input at any point of a connection earns an error frame
 * with its ErrorCode and the connection stays open; only the rate limit's repeat
 * offenders and unsupported protocol versions are closed.
 */

export type { RouterContext } from './router-context.js';

/**
 * {@link routeMessage}, guarded: an unexpected fault while handling a frame is a server
 * bug, not the client's doing, so it is logged with its stack and costs the client an
 * INTERNAL error frame, never the process.
 */
export function routeGuarded(
  ctx: RouterContext,
  conn: Connection,
  raw: RawData,
  isBinary: boolean,
): void {
  try {
    routeMessage(ctx, conn, raw, isBinary);
  } catch (err) {
    ctx.logger.error(
      {
        cid: conn.id,
        err: err instanceof Error ? err.message : String(err),
        stack: err instanceof Error ? err.stack?.split('\n').slice(0, 12).join(' | ') : undefined,
      },
      'frame handling failed',
    );
    conn.sendError({
      t: 'error',
      code: 'INTERNAL',
      message: 'the server failed to handle the message',
    });
  }
}

/** Routes one WebSocket message: decode, rate-limit each frame, dispatch. */
export function routeMessage(
  ctx: RouterContext,
  conn: Connection,
  raw: RawData,
  isBinary: boolean,
): void {
  if (conn.state === 'closing' || conn.state === 'closed') return;
  if (isBinary) {
    countIn(ctx, conn, 1);
    if (admit(ctx, conn, undefined)) {
      conn.sendError(
        errorFrame(
          ErrorCode.BINARY_UNSUPPORTED,
          'binary messages are not supported: send JSON text',
        ),
      );
    }
    return;
  }
  let items: Decoded<ClientFrame>[];
  try {
    items = decodeMessage(messageText(raw), 'client', { maxBatch: ctx.options.maxBatch });
  } catch (err) {
    countIn(ctx, conn, 1);
    if (admit(ctx, conn, undefined)) conn.sendError(asProtocolError(err).toFrame());
    return;
  }
  countIn(ctx, conn, items.length);
  dispatchFrom(ctx, conn, items, 0);
}

/** Dispatches `items[start..]`; an asynchronous hello pauses the rest until it is answered. */
function dispatchFrom(
  ctx: RouterContext,
  conn: Connection,
  items: Decoded<ClientFrame>[],
  start: number,
): void {
  for (let i = start; i < items.length; i += 1) {
    if (conn.state === 'closing' || conn.state === 'closed') return;
    const item = items[i] as Decoded<ClientFrame>;
    if (!admit(ctx, conn, item)) continue;
    if (!item.ok) {
      conn.sendError(item.error.toFrame());
      continue;
    }
    const pending = dispatch(ctx, conn, item.frame);
    if (pending !== undefined) {
      conn.hold();
      void pending.then(() => {
        dispatchFrom(ctx, conn, items, i + 1);
        conn.release();
      });
      return;
    }
  }
}

function dispatch(
  ctx: RouterContext,
  conn: Connection,
  frame: ClientFrame,
): Promise<void> | undefined {
  if (frame.t === 'hello') return onHello(ctx, conn, frame);
  if (conn.state === 'handshake') {
    conn.sendError(
      errorFrame(ErrorCode.HELLO_REQUIRED, `send hello before "${frame.t}"`, refOf(frame)),
    );
    return undefined;
  }
  switch (frame.t) {
    case 'ping':
      conn.enqueue({ t: 'pong', ts: frame.ts, rts: ctx.clock.now() });
      break;
    case 'pong':
      conn.recordRtt(ctx.clock.now() - frame.ts);
      break;
    case 'msg':
      onMsg(ctx, conn, frame);
      break;
    case 'ack':
      if (conn.session !== undefined && !conn.session.out.ack(frame.seq)) {
        conn.sendError(
          errorFrame(
            ErrorCode.BAD_ACK,
            `ack ${frame.seq} is beyond the last sequence number sent`,
            refOf(frame),
          ),
        );
      }
      break;
    case 'req':
      onReq(ctx, conn, frame);
      break;
    case 'sub':
      onSub(ctx, conn, frame);
      break;
    case 'unsub':
      onUnsub(ctx, conn, frame);
      break;
    case 'publish':
      onPublish(ctx, conn, frame);
      break;
    case 'auth':
      onAuth(ctx, conn, frame);
      break;
    case 'res':
      // The server sends no requests yet, so no reply can match; ignored like a late reply.
      ctx.logger.debug({ cid: conn.id, id: frame.id }, 'reply without a pending request');
      break;
    case 'error':
      ctx.logger.debug({ cid: conn.id, code: frame.code }, 'client reported an error');
      break;
  }
  return undefined;
}

function onHello(
  ctx: RouterContext,
  conn: Connection,
  hello: HelloFrame,
): Promise<void> | undefined {
  if (conn.inbound.helloSeen) {
    conn.sendError(
      errorFrame(ErrorCode.DUPLICATE_HELLO, 'hello was already received on this connection', {
        t: 'hello',
      }),
    );
    return undefined;
  }
  if (hello.v !== PROTOCOL_VERSION) {
    const message = `protocol version ${hello.v} is not supported (this server speaks ${PROTOCOL_VERSION})`;
    conn.sendError(errorFrame(ErrorCode.UNSUPPORTED_VERSION, message, { t: 'hello' }));
    conn.closeWith(CloseCode.UNSUPPORTED_VERSION, message);
    return undefined;
  }
  conn.inbound.helloArrived();
  // A store lookup: the frames after hello wait (held) until the welcome went out.
  return ctx.sessions.open(hello, conn).then(
    (g) => welcome(ctx, conn, hello, g),
    (err: unknown) => sessionFault(ctx, conn, err),
  );
}

function welcome(
  ctx: RouterContext,
  conn: Connection,
  hello: HelloFrame,
  grant: SessionGrant,
): void {
  if (conn.state !== 'handshake') {
    // The socket closed while the store answered: the session's window starts now.
    ctx.sessions.detach(grant.session, conn.id);
    return;
  }
  const welcome = ctx.welcomes.encode({
    sid: grant.session.id,
    token: grant.token,
    cid: conn.id,
    resumed: grant.resumed,
    // Committed to the store: a client never learns of a processed seq the store could lose.
    ack: grant.session.inSeq,
    time: ctx.clock.now(),
    reason: grant.reason,
    data: conn.credentials?.welcome,
  });
  conn.welcomed(grant.session, hello.client);
  conn.limitOutgoing(hello.maxMessageBytes);
  conn.probeWith(hello.appPings);
  conn.writer.takesPubs = hello.pubs === true;
  // Written at once rather than at the end of the turn: the client is waiting for it.
  conn.enqueue(welcome, true);
  conn.transition('open');
  // Replayed messages follow the welcome, before anything live.
  grant.session.start(conn, grant.preload);
  ctx.ready(conn, grant);
}

/**
 * How long a client refused because the store is unreachable is asked to wait: a Redis
 * restart or failover takes seconds, and the hint is jittered by the client.
 */
const STORE_DOWN_RETRY_AFTER_MS = 5_000;

function sessionFault(ctx: RouterContext, conn: Connection, err: unknown): void {
  if (err instanceof StoreError && err.code === StoreErrorCode.UNAVAILABLE) {
    // A session this process cannot store is not admitted: try again later (or elsewhere).
    ctx.logger.warn({ cid: conn.id, err: errorMessage(err) }, 'hello refused: store unavailable');
    conn.closeWith(
      CloseCode.TRY_AGAIN_LATER,
      'the store is unavailable: try again later',
      STORE_DOWN_RETRY_AFTER_MS,
    );
    return;
  }
  ctx.logger.error({ cid: conn.id, err: errorMessage(err) }, 'opening a session failed');
  conn.sendError(
    errorFrame(ErrorCode.INTERNAL, 'the server could not open a session', { t: 'hello' }),
  );
  conn.closeWith(CloseCode.INTERNAL_ERROR, 'session unavailable');
}

/**
 * Charges one frame to the rate limit; false when it is dropped (or the connection closed).
 * The error reference is built from `item` only for a dropped frame, not for every frame.
 */
function admit(
  ctx: RouterContext,
  conn: Connection,
  item: Decoded<ClientFrame> | undefined,
): boolean {
  const bucket = conn.bucket;
  if (bucket === undefined) return true;
  const verdict = bucket.take(ctx.clock.monotonic());
  if (verdict === 'ok') return true;
  ctx.counters.add('rateLimited');
  if (verdict === 'close') {
    ctx.logger.info(
      { cid: conn.id, ip: conn.ip, dropped: bucket.dropped },
      'rate limit abuse, closing',
    );
    conn.closeWith(CloseCode.POLICY_VIOLATION, 'rate limit exceeded repeatedly', bucket.refillMs);
    return false;
  }
  const ref: ErrorRef =
    item === undefined ? {} : item.ok ? refOf(item.frame) : (item.error.ref ?? {});
  conn.sendError(
    errorFrame(ErrorCode.RATE_LIMITED, 'too many messages: frame dropped, slow down', ref),
  );
  return false;
}

function countIn(ctx: RouterContext, conn: Connection, frames: number): void {
  conn.inbound.countFrames(frames);
  ctx.counters.add('messagesIn', frames);
}
