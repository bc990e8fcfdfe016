import type { Json } from '@tether/protocol';

/**
 * Life of a connection: `handshake` (upgraded, waiting for hello) → `open` (welcomed)
 * → `closing` (a close started: goodbye sent or the client's close frame received)
 * → `closed`. A connection may go from `handshake` straight to `closing`.
 */
export type ConnectionState = 'handshake' | 'open' | 'closing' | 'closed';

/** A snapshot of one connection's metadata and counters. */
export interface ConnectionInfo {
  /** Connection id (the `cid` of welcome), unique per socket. */
  id: string;
  /** Path of the endpoint. */
  path: string;
  /** Client IP address. */
  ip: string;
  /** The user the `authenticate` hook returned, if any. */
  user: string | undefined;
  /** Session id once welcomed. */
  sessionId: string | undefined;
  /** The client's self-description from hello, if it sent one. */
  client: { name?: string; version?: string } | undefined;
  state: ConnectionState;
  /** Wall-clock ms when the upgrade completed. */
  connectedAt: number;
  /** Wall-clock ms of the latest inbound traffic (any message, ping or pong). */
  lastSeenAt: number;
  /** Latest round-trip time in ms (from app pongs or WebSocket pongs); undefined until measured. */
  rttMs: number | undefined;
  /** Frames received (each frame of a batch counts). */
  messagesIn: number;
  /** Frames sent. */
  messagesOut: number;
  /** Bytes received (WebSocket payloads). */
  bytesIn: number;
  /** Bytes sent (WebSocket payloads). */
  bytesOut: number;
  /** Error frames sent to this client (bad input, rate limiting, handler failures). */
  errors: number;
  /**
   * Bytes held for this client right now: unsent by the socket plus queued for the next
   * write. Stays under the endpoint's `slowConsumerBytes` plus one message.
   */
  bufferedBytes: number;
}

/** The application's handle on one connection. */
export interface TetherConnection {
  readonly id: string;
  readonly path: string;
  readonly ip: string;
  readonly user: string | undefined;
  /** The `data` the `authenticate` hook returned, if any. */
  readonly data: Readonly<Record<string, Json>> | undefined;
  readonly sessionId: string | undefined;
  readonly state: ConnectionState;
  readonly rttMs: number | undefined;
  /** A snapshot of metadata and counters. */
  info(): ConnectionInfo;
  /**
   * Sends a fire-and-forget `msg` on this connection (no `seq`: lost if the connection
   * drops). For reliable delivery use `endpoint.sendTo(connection.sessionId, data)`.
   * Returns false when it was not queued (the connection is not open, or it is being
   * closed as a slow consumer).
   */
  send(data: Json): boolean;
  /**
   * Closes with `goodbye` then the close code (default 1000). `retryAfterMs` is sent as
   * the goodbye's hint.
   */
  close(code?: number, reason?: string, retryAfterMs?: number): void;
}

/**
 * A connection that completed hello and got `welcome`: it has a session. The
 * `connection` event, message and request handlers only ever see these.
 */
export type OpenConnection = TetherConnection & { readonly sessionId: string };

/** A `msg` frame from a client. */
export interface MessageEvent {
  connection: OpenConnection;
  data: Json;
  /** The frame's sequence number, when the client sent it reliably. */
  seq: number | undefined;
}

/** A connection ended. Fires for every upgraded socket, also those that never said hello. */
export interface CloseEvent {
  connection: TetherConnection;
  /**
   * The close code: the server's when the server closed (including 4008 for a heartbeat
   * timeout and 1012 on shutdown, even when the socket had to be destroyed), else the
   * client's (1006 when the socket dropped without a close frame).
   */
  code: number;
  reason: string;
  /** Whether the close handshake completed (both close frames exchanged). */
  clean: boolean;
  /** Who started the close. A dropped socket counts as the client. */
  initiatedBy: 'client' | 'server';
}

/** A round-trip time measured on a connection (from an app `pong` or a WebSocket pong). */
export interface RttEvent {
  connection: TetherConnection;
  rttMs: number;
}

/** What a request handler sees besides the data. */
export interface RequestContext {
  connection: OpenConnection;
  method: string;
  /** The request's id (for logs; the reply is correlated for you). */
  id: number | string;
}

/** What a message handler sees besides the data. */
export interface MessageContext {
  connection: OpenConnection;
  seq: number | undefined;
}

/**
 * Answers a `req`. The resolved value is the reply's `data` (it must be JSON); a throw or
 * rejection replies HANDLER_ERROR with the error's message (no stack), or the code of a
 * `ReplyError`.
 */
export type RequestHandler = (
  data: Json | undefined,
  context: RequestContext,
) => Json | undefined | Promise<Json | undefined>;

/**
 * Handles a `msg`. Messages of one session are handled in order, across its connections:
 * when the handler returns a promise, the next message waits for it. A `msg` with `seq`
 * runs once per session and is acked after its handler finished and the store recorded
 * it; when the handler throws it is not acked (the client sends it again after a
 * reconnect, and nothing after it runs before it). A `ReplyError` thrown for a reliable
 * message refuses it for good instead: it is acked after an `error` with `final: true`,
 * and the client's `send()` rejects with the error's code, message and details.
 */
export type MessageHandler = (data: Json, context: MessageContext) => void | Promise<void>;

/**
 * A client asked to resume a session (`hello.resume`). When it failed, the client got a
 * new session and `welcome` with `resumed: false` and the same `reason`: messages of the
 * old session it had not received are lost, so the application may want to resend
 * state (for example with `sendTo(event.sessionId, ...)`).
 */
export interface ResumeEvent {
  connection: TetherConnection;
  /** The session the connection has now (the asked one when resumed). */
  sessionId: string;
  /** The session id the hello asked to resume. */
  requestedSessionId: string;
  resumed: boolean;
  /**
   * Why it failed: `unknown` (no such session: never existed, another endpoint's, or lost
   * with a restart of a memory store), `expired` (its window passed), `gap` (messages it
   * missed were dropped by the retention bound), `invalid` (wrong token or user).
   */
  reason?: 'unknown' | 'expired' | 'gap' | 'invalid';
}

/** A connection held more than `slowConsumerBytes` and is closed with 4009. */
export interface SlowConsumerEvent {
  connection: TetherConnection;
  /** Bytes it would have held (socket buffer + queue + the frame that did not fit). */
  bytes: number;
}
