/**
 * Every frame of Tether protocol v1. A WebSocket text message carries one
 * frame (a JSON object) or a batch (a JSON array of frames). Field names are
 * short because they repeat in every message; docs/protocol.md spells them out.
 */

/** Any JSON value: the application's payload. */
export type Json = null | boolean | number | string | Json[] | JsonObject;

/**
 * A JSON object. A field may be `undefined`, as optional fields of TypeScript objects
 * are (`{ from: connection.user }`): JSON leaves such a field out, so it never reaches
 * the wire.
 */
export type JsonObject = { [key: string]: Json | undefined };

/** A topic position: the history's epoch and the offset of a publication in it. */
export interface Position {
  /** Identifies one continuous history of the topic; a new epoch means older offsets are gone. */
  epoch: string;
  /** Offset of a publication within the epoch; the first publication is 1. */
  offset: number;
}

/** C->S, first frame on every connection. */
export interface HelloFrame {
  t: 'hello';
  /** Protocol version; 1. */
  v: number;
  /** Present when the client resumes a session. */
  resume?: {
    /** Session id from an earlier welcome. */
    sid: string;
    /** Resume token from the latest welcome of that session. */
    token: string;
    /** Highest server sequence number the client received (0 if none). */
    seq: number;
  };
  /** Optional client description, for logs and stats. */
  client?: { name?: string; version?: string };
  /**
   * The largest WebSocket message (UTF-8 bytes) this client accepts, at least
   * {@link MIN_PEER_MESSAGE_BYTES}. The server then never sends a larger one: batches and
   * replays are cut to fit, and a single frame that cannot fit is replaced by an `error`
   * `TOO_BIG` (see docs/protocol.md, "Limits"). Absent: the server's own limit.
   */
  maxMessageBytes?: number;
  /**
   * `false`: this client watches liveness itself (it sends an app `ping` after
   * `hb.interval` without inbound traffic and judges the link by the answer), so the server
   * probes it with WebSocket pings only and sends it no app `ping` frames. Absent or
   * `true`: the server sends both every interval. See docs/protocol.md, "Heartbeats".
   */
  appPings?: boolean;
  /**
   * `true`: this client takes `pubs` frames (several publications of one topic in one
   * frame, {@link PubsFrame}) in place of runs of `pub` frames. Absent or `false`: the
   * server sends `pub` frames only. See docs/protocol.md, "pubs".
   */
  pubs?: boolean;
}

/**
 * The smallest `hello.maxMessageBytes` a client may state: every control frame a server
 * sends (`welcome`, `goodbye`, `error`, `refresh`, acks) fits in it.
 */
export const MIN_PEER_MESSAGE_BYTES = 1024;

/** S->C, answer to hello. */
export interface WelcomeFrame {
  t: 'welcome';
  v: number;
  /** Session id. */
  sid: string;
  /** Resume token; present it in the next hello's `resume.token`. */
  token: string;
  /** Connection id (unique per socket, for logs). */
  cid: string;
  /** Whether the session asked for in `hello.resume` was resumed. */
  resumed: boolean;
  /** Why a requested resume failed: `unknown` session, `expired` window, `gap` (history trimmed), `invalid` token. */
  reason?: 'unknown' | 'expired' | 'gap' | 'invalid';
  /** Highest client sequence number the server has processed in this session (0 if none). */
  ack: number;
  /** Heartbeat parameters in ms: a peer silent for interval + timeout is dead. */
  hb: { interval: number; timeout: number };
  /** Limits the client must respect. */
  limits: { maxMessageBytes: number; rate: number; burst: number; maxBatch: number };
  /** How long (ms) the session survives a disconnect. */
  resumeWindow: number;
  /** Server wall-clock time (ms since epoch) when the welcome was sent. */
  time: number;
  /**
   * Application data for the client, when the server's `authenticate` hook gave some
   * (the hub: the `data` of its backend's connect answer). A JSON object; absent when none.
   */
  data?: Record<string, Json>;
}

/** Either direction. App-level ping carrying the sender's clock. */
export interface PingFrame {
  t: 'ping';
  /** Sender's wall-clock time in ms. */
  ts: number;
}

/** Either direction. Answer to ping. */
export interface PongFrame {
  t: 'pong';
  /** The `ts` of the ping, echoed. */
  ts: number;
  /** Responder's wall-clock time in ms when it answered. */
  rts: number;
}

/** Either direction. A direct message. With `seq` it is reliable: acked, retained, replayed, deduplicated. */
export interface MsgFrame {
  t: 'msg';
  /** Sequence number within the session and direction, starting at 1; absent for fire-and-forget. */
  seq?: number;
  data: Json;
}

/** Either direction. Cumulative acknowledgement: every `seq` up to this one was received. */
export interface AckFrame {
  t: 'ack';
  seq: number;
}

/** Either direction. A request; the peer answers with `res` of the same `id`. */
export interface ReqFrame {
  t: 'req';
  /** Correlates the reply; unique among the sender's pending requests. */
  id: number | string;
  /** What is asked for (the handler's name). */
  method: string;
  data?: Json;
  /** Optional sequence number, like `msg.seq`, for exactly-once processing across reconnects. */
  seq?: number;
}

/** Either direction. The reply to `req`. */
export interface ResFrame {
  t: 'res';
  id: number | string;
  ok: boolean;
  /** The result when `ok`. */
  data?: Json;
  /** The failure when not `ok`; `details`: application fields (for example an upstream `status`). */
  error?: { code: string; message: string; details?: JsonObject };
}

/** C->S. Subscribe to a topic. */
export interface SubFrame {
  t: 'sub';
  topic: string;
  /** Resume from this position: the server replays every publication after it. */
  from?: Position;
  /** Deliver the last N publications first (ignored when `from` is present). */
  last?: number;
}

/** S->C. Subscription confirmed; replayed publications follow, then live ones. */
export interface SubscribedFrame {
  t: 'subscribed';
  topic: string;
  /** Current epoch of the topic. */
  epoch: string;
  /** Offset of the newest publication at subscribe time (0 if none); replay ends here. */
  offset: number;
  /** False when `from` could not be honoured (epoch changed or history trimmed): a gap. */
  recovered: boolean;
  /** How many publications are replayed before live ones. */
  replay: number;
}

/** C->S. Leave a topic. */
export interface UnsubFrame {
  t: 'unsub';
  topic: string;
}

/** S->C. Left a topic (answer to unsub, or server-initiated with a reason). */
export interface UnsubscribedFrame {
  t: 'unsubscribed';
  topic: string;
  reason?: string;
}

/** C->S. Publish to a topic (allowed only where the server's authorize hook permits). */
export interface PublishFrame {
  t: 'publish';
  topic: string;
  data: Json;
  /** Correlates the `published` or `error` answer. */
  id?: number | string;
  /**
   * Makes the publish reliable, like `msg.seq` (same counter): retained and resent until
   * acked, published once; a resend is answered with the position it got the first time.
   */
  seq?: number;
}

/** S->C. A publish was accepted at this position. */
export interface PublishedFrame {
  t: 'published';
  topic: string;
  id?: number | string;
  epoch: string;
  offset: number;
}

/** S->C. A topic publication: the same bytes for every subscriber. */
export interface PubFrame {
  t: 'pub';
  topic: string;
  epoch: string;
  offset: number;
  data: Json;
  /** Server wall-clock time of publication (ms). */
  time?: number;
}

/**
 * S->C, only to a client whose hello had `pubs: true`. Publications of one topic with
 * consecutive offsets in one epoch, published at the same `time`: `data[i]` is the
 * publication at offset `offset + i`, exactly as `pub` frames would carry them, without
 * repeating the envelope. The same bytes for every subscriber that takes them.
 */
export interface PubsFrame {
  t: 'pubs';
  topic: string;
  epoch: string;
  /** Offset of `data[0]`; the others follow one by one. */
  offset: number;
  /** The publications, at least one. */
  data: Json[];
  /** Server wall-clock time of publication of every one of them (ms). */
  time?: number;
}

/** What an error refers to. */
export interface ErrorRef {
  /** Type of the offending frame, when known. */
  t?: string;
  id?: number | string;
  seq?: number;
  topic?: string;
  /** Index of the offending frame within a batch. */
  index?: number;
}

/** Either direction (normally S->C). Something was wrong; the connection stays open. */
export interface ErrorFrame {
  t: 'error';
  /** A stable code from the error-code table. */
  code: string;
  message: string;
  ref?: ErrorRef;
  /**
   * The reliable frame named by `ref.seq` is done for good: the server will not process it
   * (nor a resend of it); it counts as processed for order and deduplication, and the ack
   * that follows covers it. Absent: the failure is not final (the frame comes again).
   */
  final?: boolean;
  /** Application fields of the failure (for example an upstream HTTP `status`). */
  details?: JsonObject;
}

/** S->C. Sent right before a server-initiated close. */
export interface GoodbyeFrame {
  t: 'goodbye';
  /** The close code that follows. */
  code: number;
  reason: string;
  /** Hint: wait at least this many ms before reconnecting. */
  retryAfter?: number;
}

/**
 * S->C. The connection's credentials expire at `exp`: send a fresh token in an `auth`
 * frame before then, or the server closes with 4002 (token_expired).
 */
export interface RefreshFrame {
  t: 'refresh';
  /** Server wall-clock time (ms since epoch) when the current token expires. */
  exp: number;
  /** Milliseconds from this frame until `exp` (for clients whose clock differs). */
  within: number;
}

/** C->S. Fresh credentials for the open connection (answer to `refresh`, or sent unasked). */
export interface AuthFrame {
  t: 'auth';
  /** The new token, as the client's token provider gave it. */
  token: string;
}

/** S->C. The token of an `auth` frame was accepted; a refusal is an `error` with AUTH_FAILED. */
export interface AuthedFrame {
  t: 'authed';
  /** When the new token expires (server wall-clock ms); absent when it does not. */
  exp?: number;
}

/** Frames either side may send: liveness, messages, requests and their answers. */
export type PeerFrame = PingFrame | PongFrame | MsgFrame | AckFrame | ReqFrame | ResFrame;

export type ClientFrame =
  | HelloFrame
  | PeerFrame
  | SubFrame
  | UnsubFrame
  | PublishFrame
  | AuthFrame
  | ErrorFrame;

export type ServerFrame =
  | WelcomeFrame
  | PeerFrame
  | SubscribedFrame
  | UnsubscribedFrame
  | PublishedFrame
  | PubFrame
  | PubsFrame
  | ErrorFrame
  | GoodbyeFrame
  | RefreshFrame
  | AuthedFrame;

export type Frame = ClientFrame | ServerFrame;
export type FrameType = Frame['t'];

/** Types of {@link PeerFrame}, sent by both sides. */
const PEER_FRAME_TYPES = [
  'ping',
  'pong',
  'msg',
  'ack',
  'req',
  'res',
] as const satisfies readonly PeerFrame['t'][];

/** Frame types a client may send. */
export const CLIENT_FRAME_TYPES = [
  'hello',
  ...PEER_FRAME_TYPES,
  'sub',
  'unsub',
  'publish',
  'auth',
  'error',
] as const satisfies readonly ClientFrame['t'][];

/** Frame types a server may send. */
export const SERVER_FRAME_TYPES = [
  'welcome',
  ...PEER_FRAME_TYPES,
  'subscribed',
  'unsubscribed',
  'published',
  'pub',
  'pubs',
  'error',
  'goodbye',
  'refresh',
  'authed',
] as const satisfies readonly ServerFrame['t'][];
