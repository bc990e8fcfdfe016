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
   * Sends a fire-and-forget `msg` (no `seq`: reliable delivery arrives with durable
   * sessions). Returns false when the connection is not open.
   */
  send(data: Json): boolean;
  /**
   * Closes with `goodbye` then the close code (default 1000). `retryAfterMs` is sent as
   * the goodbye's hint.
   */
  close(code?: number, reason?: string, retryAfterMs?: number): void;
}

/** A `msg` frame from a client. */
export interface MessageEvent {
  connection: TetherConnection;
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

/** What a request handler sees besides the data. */
export interface RequestContext {
  connection: TetherConnection;
  method: string;
  /** The request's id (for logs; the reply is correlated for you). */
  id: number | string;
}

/** What a message handler sees besides the data. */
export interface MessageContext {
  connection: TetherConnection;
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
 * Handles a `msg`. Messages of one connection are handled in order: when the handler
 * returns a promise, the next message waits for it. A `msg` with `seq` is acked after
 * its handler finished.
 */
export type MessageHandler = (data: Json, context: MessageContext) => void | Promise<void>;
