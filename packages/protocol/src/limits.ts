/** Hard limits of the wire format itself, independent of server configuration. */
export const WIRE_LIMITS = {
  /** Longest topic name, in characters. */
  maxTopicLength: 256,
  /** Longest string id (`req.id`, `publish.id`), in characters. */
  maxIdLength: 128,
  /** Longest request method name, in characters. */
  maxMethodLength: 128,
  /** Longest session id or resume token, in characters. */
  maxTokenLength: 512,
  /** Longest credential in an `auth` frame (a JWT with claims outgrows 512), in characters. */
  maxAuthTokenLength: 8192,
  /** Default and largest number of frames in one batch. */
  maxBatch: 1000,
} as const;

/** Topic names: 1-256 characters from letters, digits and `_ - . : / @ # = +`. */
export const TOPIC_PATTERN = /^[A-Za-z0-9_\-.:/@#=+]{1,256}$/;
