import type { ClientFrame, ErrorCodeName, ErrorFrame, ErrorRef } from '@tether/protocol';
import { ErrorCode, ProtocolError } from '@tether/protocol';

/** Error frames the router sends, and what they refer to. */

const MAX_ERROR_MESSAGE = 1000;

/** An error frame. */
export function errorFrame(code: ErrorCodeName, message: string, ref?: ErrorRef): ErrorFrame {
  return new ProtocolError(code, message, ref).toFrame();
}

/** The error reference of a valid frame: its type and correlating fields. */
export function refOf(frame: ClientFrame | { t: string }): ErrorRef {
  // Only fields of the right type: a frame type that does not use `id` (or `seq`, `topic`)
  // does not check it, and whatever the client put there (nested 9,000 deep) must not
  // reach the answer.
  const f = frame as { t: string; id?: unknown; seq?: unknown; topic?: unknown };
  const ref: ErrorRef = { t: f.t };
  if (typeof f.id === 'number' || typeof f.id === 'string') ref.id = f.id;
  if (typeof f.seq === 'number') ref.seq = f.seq;
  if (typeof f.topic === 'string') ref.topic = f.topic;
  return ref;
}

export function asProtocolError(err: unknown): ProtocolError {
  return err instanceof ProtocolError
    ? err
    : new ProtocolError(ErrorCode.INTERNAL, errorMessage(err));
}

/** The message of anything thrown, without a stack. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return typeof err === 'string' ? err : String(err);
}

/** Error messages sent to clients are capped at 1000 characters. */
export function truncate(message: string): string {
  return message.length > MAX_ERROR_MESSAGE ? `${message.slice(0, MAX_ERROR_MESSAGE)}…` : message;
}
