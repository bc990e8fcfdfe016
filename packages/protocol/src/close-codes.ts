/**
 * The close-code table: the one place that says what each WebSocket close
 * code means in Tether and whether a client reconnects after it. Server and
 * client both read it; nothing else decides.
 */

/** What a client does after a close with this code. */
export type CloseAction =
  /** Reconnect with backoff (and resume the session). */
  | 'reconnect'
  /** Reconnect after the server's retry-after hint plus jitter (backoff if no hint). */
  | 'reconnect-after-hint'
  /** Reconnect at once (no backoff): the server asked for it and nothing is wrong with the client. */
  | 'reconnect-now'
  /** Stop; surface a typed error with a recovery hint. */
  | 'stop';

export interface CloseCodeInfo {
  code: number;
  /** Short stable name, used in logs and metrics. */
  name: string;
  /** What happened, for people. */
  meaning: string;
  action: CloseAction;
  /** What the application should do when the action is `stop` (or a note otherwise). */
  hint: string;
}

/** Named close codes. */
export const CloseCode = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  PROTOCOL_ERROR: 1002,
  UNSUPPORTED_DATA: 1003,
  NO_STATUS: 1005,
  ABNORMAL: 1006,
  INVALID_PAYLOAD: 1007,
  POLICY_VIOLATION: 1008,
  MESSAGE_TOO_BIG: 1009,
  INTERNAL_ERROR: 1011,
  SERVICE_RESTART: 1012,
  TRY_AGAIN_LATER: 1013,
  BAD_GATEWAY: 1014,
  HANDSHAKE_TIMEOUT: 4000,
  UNAUTHORIZED: 4001,
  TOKEN_EXPIRED: 4002,
  FORBIDDEN: 4003,
  /** Client-side only: the upgrade was refused with HTTP 404 (no Tether endpoint at that path). */
  NOT_FOUND: 4004,
  HEARTBEAT_TIMEOUT: 4008,
  SLOW_CONSUMER: 4009,
  SESSION_REPLACED: 4010,
  UNSUPPORTED_VERSION: 4011,
  CONNECT_TIMEOUT: 4012,
  SESSION_EVICTED: 4013,
  /** Client-side only: the connection was closed by the client's own `close()`. */
  CLIENT_CLOSED: 4999,
} as const;

const TABLE: readonly CloseCodeInfo[] = [
  {
    code: 1000,
    name: 'normal',
    meaning: 'Normal closure: the peer ended the connection on purpose.',
    action: 'stop',
    hint: 'Nothing to do; connect again when you want to.',
  },
  {
    code: 1001,
    name: 'going_away',
    meaning: 'The peer is going away (server shutting down, page navigating away).',
    action: 'reconnect',
    hint: 'Reconnects with backoff.',
  },
  {
    code: 1002,
    name: 'protocol_error',
    meaning: 'The peer broke the WebSocket or Tether protocol.',
    action: 'stop',
    hint: 'Upgrade the client: it speaks a protocol the server does not accept.',
  },
  {
    code: 1003,
    name: 'unsupported_data',
    meaning: 'The peer sent a data type the endpoint does not accept.',
    action: 'stop',
    hint: 'Upgrade the client: send JSON text frames only.',
  },
  {
    code: 1005,
    name: 'no_status',
    meaning: 'Closed without a status code.',
    action: 'reconnect',
    hint: 'Reconnects with backoff.',
  },
  {
    code: 1006,
    name: 'abnormal',
    meaning:
      'The connection dropped without a close frame (network loss, proxy idle timeout, crash).',
    action: 'reconnect',
    hint: 'Reconnects with backoff. Repeated 1006 after a fixed idle time points to a proxy timeout: lower the heartbeat interval.',
  },
  {
    code: 1007,
    name: 'invalid_payload',
    meaning: 'A text frame was not valid UTF-8.',
    action: 'stop',
    hint: 'Upgrade the client: it sent malformed text.',
  },
  {
    code: 1008,
    name: 'policy_violation',
    meaning: 'The client kept breaking a policy (rate limit) after being warned.',
    action: 'reconnect-after-hint',
    hint: 'Reconnects after the hinted delay; send less.',
  },
  {
    code: 1009,
    name: 'message_too_big',
    meaning: 'A message exceeded the maximum message size.',
    action: 'reconnect',
    hint: 'Final for that message: the client drops it (with an error) and reconnects.',
  },
  {
    code: 1011,
    name: 'internal_error',
    meaning: 'The server hit an unexpected condition.',
    action: 'reconnect',
    hint: 'Reconnects with backoff.',
  },
  {
    code: 1012,
    name: 'service_restart',
    meaning: 'The server is restarting or draining.',
    action: 'reconnect-after-hint',
    hint: 'Reconnects after the retry-after hint plus jitter and resumes.',
  },
  {
    code: 1013,
    name: 'try_again_later',
    meaning: 'The server is overloaded.',
    action: 'reconnect-after-hint',
    hint: 'Reconnects after the retry-after hint plus jitter.',
  },
  {
    code: 1014,
    name: 'bad_gateway',
    meaning: 'A gateway got a bad answer upstream.',
    action: 'reconnect',
    hint: 'Reconnects with backoff.',
  },
  {
    code: 1015,
    name: 'tls_handshake',
    meaning: 'The TLS handshake failed.',
    action: 'stop',
    hint: 'Fix the TLS configuration or certificate.',
  },
  {
    code: 4000,
    name: 'handshake_timeout',
    meaning: 'The client did not send hello in time after the upgrade.',
    action: 'reconnect',
    hint: 'Reconnects with backoff.',
  },
  {
    code: 4001,
    name: 'unauthorized',
    meaning: 'Missing, invalid or expired credentials.',
    action: 'stop',
    hint: 'Re-authenticate: get a new token, then connect again.',
  },
  {
    code: 4002,
    name: 'token_expired',
    meaning:
      'The credentials of an open connection expired and no fresh token came (answer refresh with auth).',
    action: 'reconnect',
    hint: 'Reconnects with backoff and a fresh token from the token provider, and resumes; a client with a fixed token then gets 4001.',
  },
  {
    code: 4003,
    name: 'forbidden',
    meaning: 'Valid credentials without permission for this endpoint.',
    action: 'stop',
    hint: 'The user lacks permission; do not retry with the same credentials.',
  },
  {
    code: 4004,
    name: 'not_found',
    meaning:
      'Client-side: the upgrade was refused with HTTP 404 (no Tether endpoint at this path).',
    action: 'stop',
    hint: 'Check the URL and its path; retrying the same URL cannot help.',
  },
  {
    code: 4008,
    name: 'heartbeat_timeout',
    meaning: 'No traffic within heartbeat interval + timeout (half-open link).',
    action: 'reconnect',
    hint: 'Reconnects with backoff and resumes.',
  },
  {
    code: 4009,
    name: 'slow_consumer',
    meaning: 'The client read too slowly and its send buffer passed the limit.',
    action: 'reconnect-now',
    hint: 'Reconnects at once and catches up by resume; nothing is lost.',
  },
  {
    code: 4010,
    name: 'session_replaced',
    meaning: 'Another connection resumed this session.',
    action: 'stop',
    hint: 'Another tab or process took over the session; do not fight it.',
  },
  {
    code: 4011,
    name: 'unsupported_version',
    meaning: 'The client asked for a protocol version the server does not speak.',
    action: 'stop',
    hint: 'Upgrade the client.',
  },
  {
    code: 4012,
    name: 'connect_timeout',
    meaning: 'Client-side: the connection did not open (or no welcome came) in time.',
    action: 'reconnect',
    hint: 'Reconnects with backoff.',
  },
  {
    code: 4013,
    name: 'session_evicted',
    meaning:
      'The user opened more sessions than the server allows per user; this one was the oldest and was dropped.',
    action: 'stop',
    hint: 'Too many tabs or devices of this user; connect again only on a user action (reconnecting at once would evict another session).',
  },
  {
    code: 4999,
    name: 'client_closed',
    meaning: "Client-side: closed by the application's close().",
    action: 'stop',
    hint: 'Nothing to do.',
  },
];

const BY_CODE = new Map(TABLE.map((info) => [info.code, info]));

/** Every row of the table, in code order. */
export const CLOSE_CODES: readonly CloseCodeInfo[] = TABLE;

/**
 * Looks up a close code. Codes outside the table: 1000-2999 unknown standard
 * codes and 3000-3999 (registered) reconnect with backoff; 4000-4999 codes the
 * table does not list are application-defined and also reconnect.
 */
export function closeCodeInfo(code: number): CloseCodeInfo {
  return (
    BY_CODE.get(code) ?? {
      code,
      name: 'unknown',
      meaning: `Close code ${code} is not in Tether's table.`,
      action: 'reconnect',
      hint: 'Reconnects with backoff.',
    }
  );
}

/** Codes a client reports locally and a server never sends (with 1005, 1006 and 1015 of RFC 6455). */
const CLIENT_SIDE_ONLY = new Set([1005, 1006, 1015, 4004, 4012, 4999]);

/** Whether a client reconnects after this close code. */
export function shouldReconnect(code: number): boolean {
  return closeCodeInfo(code).action !== 'stop';
}

/**
 * Close codes a server may send in a close frame (RFC 6455 §7.4: 1005, 1006,
 * 1015 are never sent on the wire; 4004, 4012 and 4999 are client-side only).
 */
export function isSendableCloseCode(code: number): boolean {
  // A close frame carries a 16-bit integer; 1000.5 would fail in the WebSocket library at send time.
  if (!Number.isInteger(code)) return false;
  if (CLIENT_SIDE_ONLY.has(code)) return false;
  return (code >= 1000 && code <= 1014 && code !== 1004) || (code >= 3000 && code <= 4999);
}
