/**
 * Error codes carried by `error` frames and by `res` frames with `ok: false`.
 * Stable: clients switch on them. Every malformed input maps to one of these.
 */
export const ErrorCode = {
  /** The text was not valid JSON. */
  BAD_JSON: 'BAD_JSON',
  /** Valid JSON, but not a frame (not an object, or an array of objects) or without a string `t`. */
  BAD_FRAME: 'BAD_FRAME',
  /** `t` names no frame type this peer accepts. */
  UNKNOWN_TYPE: 'UNKNOWN_TYPE',
  /** A field is missing or has the wrong type or range; `message` names it. */
  BAD_FIELD: 'BAD_FIELD',
  /** A batch held no frames, or more than the batch limit. */
  BAD_BATCH: 'BAD_BATCH',
  /** A binary WebSocket message; Tether v1 speaks JSON text only. */
  BINARY_UNSUPPORTED: 'BINARY_UNSUPPORTED',
  /** A frame other than hello arrived before hello. */
  HELLO_REQUIRED: 'HELLO_REQUIRED',
  /** A second hello on the same connection. */
  DUPLICATE_HELLO: 'DUPLICATE_HELLO',
  /** The hello asked for a protocol version the server does not speak. */
  UNSUPPORTED_VERSION: 'UNSUPPORTED_VERSION',
  /** Too many messages; the frame was dropped. Continued abuse closes with 1008. */
  RATE_LIMITED: 'RATE_LIMITED',
  /** The credentials do not allow this (topic publish or subscribe). */
  FORBIDDEN: 'FORBIDDEN',
  /** No handler for this request method or message. */
  NO_HANDLER: 'NO_HANDLER',
  /** The application's handler threw or rejected. */
  HANDLER_ERROR: 'HANDLER_ERROR',
  /**
   * The application refused a message or request for good (the hub: its backend answered
   * 4xx); on a reliable `msg` the error frame has `final: true` and the message is acked.
   */
  REJECTED: 'REJECTED',
  /** The hub's backend could not be reached or failed (5xx, timeout) for a request. */
  BACKEND_UNAVAILABLE: 'BACKEND_UNAVAILABLE',
  /** A request got no reply in time. */
  TIMEOUT: 'TIMEOUT',
  /**
   * A `req` beyond the connection's limit of requests not answered yet: refused unrun (a
   * reliable one is not acked, so it is sent again later); the connection stays open.
   */
  TOO_MANY_REQUESTS: 'TOO_MANY_REQUESTS',
  /** Unsubscribe from a topic the connection is not subscribed to. */
  NOT_SUBSCRIBED: 'NOT_SUBSCRIBED',
  /** A `sub` past the server's cap on subscriptions per connection; nothing was subscribed. */
  TOO_MANY_SUBSCRIPTIONS: 'TOO_MANY_SUBSCRIPTIONS',
  /** The message exceeded the size limit (sent before close 1009 where possible). */
  TOO_BIG: 'TOO_BIG',
  /** An ack for a sequence number that was never sent. */
  BAD_ACK: 'BAD_ACK',
  /** The token of an `auth` frame was refused; the connection keeps its old token until it expires. */
  AUTH_FAILED: 'AUTH_FAILED',
  /**
   * A resent reliable frame was processed before, but the server no longer holds its
   * answer (a restart, or too many answers since): it ran once; its result is unknown.
   */
  ALREADY_PROCESSED: 'ALREADY_PROCESSED',
  /** The server failed unexpectedly while handling the frame. */
  INTERNAL: 'INTERNAL',
} as const;

export type ErrorCodeName = (typeof ErrorCode)[keyof typeof ErrorCode];
