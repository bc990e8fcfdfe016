import { ErrorCode, type ErrorFrame, type ResFrame, type ServerFrame } from '@tether/protocol';
import type { Logger } from './logger.js';

/** What goes to a client in place of a frame larger than its `hello.maxMessageBytes`. */
export interface StandIn {
  frame: ErrorFrame | ResFrame;
  /** Whether the replaced frame counts as delivered (the stream goes on after it). */
  delivered: boolean;
}

/**
 * A frame larger than the client accepts cannot be delivered to it. What it gets instead
 * is small and says so (docs/protocol.md, "Limits"): a reply becomes `res` `ok: false`
 * `TOO_BIG`; a publication or a reliable message becomes an `error` `TOO_BIG` naming it
 * (`ref.topic` / `ref.seq`), and counts as delivered, so the stream goes on after it:
 * the subscriber sees the offset jump (a gap), the client acks the seq as lost. A
 * fire-and-forget message is not sent (not delivered).
 */
export function standInForPeer(encoded: string, bytes: number, limit: number): StandIn {
  const frame = JSON.parse(encoded) as Record<string, unknown>;
  const t = typeof frame.t === 'string' ? frame.t : 'unknown';
  const over = `${bytes} bytes, over this connection's maxMessageBytes (${limit})`;
  if (t === 'res' && (typeof frame.id === 'number' || typeof frame.id === 'string')) {
    return {
      frame: {
        t: 'res',
        id: frame.id,
        ok: false,
        error: { code: ErrorCode.TOO_BIG, message: `the reply is ${over}` },
      },
      delivered: true,
    };
  }
  if (t === 'pub' && typeof frame.topic === 'string') {
    const at = `${String(frame.epoch)}:${String(frame.offset)}`;
    return {
      frame: {
        t: 'error',
        code: ErrorCode.TOO_BIG,
        message: `publication ${at} of "${frame.topic}" is ${over}: skipped (a gap)`,
        ref: { t: 'pub', topic: frame.topic },
      },
      delivered: true,
    };
  }
  const seq = typeof frame.seq === 'number' ? frame.seq : undefined;
  return {
    frame: {
      t: 'error',
      code: ErrorCode.TOO_BIG,
      message:
        seq === undefined
          ? `a "${t}" frame of ${over} was not sent`
          : `message seq ${seq} is ${over}: skipped (lost)`,
      ref: seq === undefined ? { t } : { t, seq },
    },
    delivered: seq !== undefined,
  };
}

/**
 * Sends the stand-in for a frame larger than the client accepts (an error frame counts as
 * one) and logs it; returns whether the frame counts as delivered.
 */
export function replaceForPeer(
  conn: { id: string; sendError(frame: ErrorFrame): void; enqueue(frame: ServerFrame): void },
  logger: Logger,
  over: { encoded: string; bytes: number; limit: number },
): boolean {
  logger.warn(
    { cid: conn.id, bytes: over.bytes, limit: over.limit },
    'frame too big for the client',
  );
  const stand = standInForPeer(over.encoded, over.bytes, over.limit);
  if (stand.frame.t === 'error') conn.sendError(stand.frame);
  else conn.enqueue(stand.frame);
  return stand.delivered;
}
