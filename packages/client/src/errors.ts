import { TetherError } from '@tether/common';
import type { CloseCodeInfo, ErrorRef, JsonObject } from '@tether/protocol';

/**
 * What the application should do after a final close, derived from the close
 * code. `none`: nothing is wrong (a normal close).
 */
export type RecoveryHint =
  | 're-authenticate'
  | 'upgrade-client'
  | 'check-permissions'
  | 'session-taken-over'
  | 'session-evicted'
  | 'fix-tls'
  | 'check-url'
  | 'none';

const RECOVERY: Record<number, RecoveryHint> = {
  1002: 'upgrade-client',
  1003: 'upgrade-client',
  1007: 'upgrade-client',
  4011: 'upgrade-client',
  4001: 're-authenticate',
  4003: 'check-permissions',
  4010: 'session-taken-over',
  4013: 'session-evicted',
  1015: 'fix-tls',
  4004: 'check-url',
};

/**
 * The server closed with a code the close-code table marks final (`stop`):
 * the client does not reconnect. `code` is the table's name in capitals
 * (`UNAUTHORIZED`, `FORBIDDEN`, `PROTOCOL_ERROR`, ...); `hint` is the table's
 * advice for people and `recovery` the same for programs.
 */
export class FinalCloseError extends TetherError {
  override name = 'FinalCloseError';
  readonly closeCode: number;
  readonly closeReason: string;
  readonly hint: string;
  readonly recovery: RecoveryHint;
  /**
   * The HTTP status when the server refused the upgrade itself (404, 403, 400, ...),
   * where the WebSocket implementation exposes it (Node's `ws`; never browsers).
   */
  readonly httpStatus: number | undefined;

  constructor(info: CloseCodeInfo, reason: string, httpStatus?: number) {
    const why = reason ? `: ${reason}` : '';
    super(info.name.toUpperCase(), `closed with ${info.code} (${info.name})${why}. ${info.hint}`, {
      retryable: false,
    });
    this.closeCode = info.code;
    this.closeReason = reason;
    this.hint = info.hint;
    this.recovery = RECOVERY[info.code] ?? 'none';
    this.httpStatus = httpStatus;
  }
}

/** `close()` was called: pending sends and requests fail with this. */
export class ClientClosedError extends TetherError {
  override name = 'ClientClosedError';
  constructor(message = 'the client was closed') {
    super('CLIENT_CLOSED', message, { retryable: false });
  }
}

/**
 * The connection dropped while a request (or a publish) was in flight. Unless
 * `processed` is true, the server may or may not have handled it: retry only
 * if the method is idempotent. `processed` is true for a reliable request the
 * server acknowledged: it ran, only its reply was lost with the connection.
 */
export class ConnectionLostError extends TetherError {
  override name = 'ConnectionLostError';
  readonly closeCode: number;
  /** The server acknowledged it (reliable requests only): it ran once, the reply is lost. */
  readonly processed: boolean;
  constructor(closeCode: number, processed = false) {
    super(
      'CONNECTION_LOST',
      processed
        ? `the connection closed (${closeCode}) after the server processed the request, before the reply came`
        : `the connection closed (${closeCode}) before the reply came`,
      { retryable: !processed },
    );
    this.closeCode = closeCode;
    this.processed = processed;
  }
}

/** A request got no reply within its deadline. */
export class RequestTimeoutError extends TetherError {
  override name = 'RequestTimeoutError';
  constructor(method: string, timeoutMs: number) {
    super('REQUEST_TIMEOUT', `request "${method}" got no reply within ${timeoutMs} ms`, {
      retryable: true,
    });
  }
}

/** Server error codes after which the same request may succeed later. */
const RETRYABLE_SERVER_CODES = new Set([
  'RATE_LIMITED',
  'TIMEOUT',
  'INTERNAL',
  'TOO_MANY_REQUESTS',
]);

/**
 * The server answered a request with `ok: false`, or sent an `error` frame.
 * `code` is the server's code from the protocol's error-code table.
 */
export class ServerError extends TetherError {
  override name = 'ServerError';
  readonly ref: ErrorRef | undefined;
  /** Application fields of the failure (for example an upstream HTTP `status`). */
  readonly details: JsonObject | undefined;
  /**
   * The server refused the reliable frame `ref.seq` for good (`error` with `final`): it
   * will not run, also when sent again. Never retryable.
   */
  readonly final: boolean;
  constructor(
    code: string,
    message: string,
    ref?: ErrorRef,
    extra: { details?: JsonObject; final?: boolean } = {},
  ) {
    super(code, message, { retryable: !extra.final && RETRYABLE_SERVER_CODES.has(code) });
    this.ref = ref;
    this.details = extra.details;
    this.final = extra.final === true;
  }
}

/**
 * The outbox is full (count or bytes): the newest message is refused. Retry
 * after the connection is back and the server has acknowledged what is queued.
 */
export class QueueFullError extends TetherError {
  override name = 'QueueFullError';
  /** The bound that was hit. */
  readonly limit: 'maxQueue' | 'maxQueueBytes';
  constructor(limit: 'maxQueue' | 'maxQueueBytes', value: number) {
    super('QUEUE_FULL', `outbox full (${limit} = ${value}): message refused`, { retryable: true });
    this.limit = limit;
  }
}

/** One message is larger than the server's `maxMessageBytes`; it would cost the connection (1009). */
export class MessageTooBigError extends TetherError {
  override name = 'MessageTooBigError';
  constructor(bytes: number, limit: number) {
    super('MESSAGE_TOO_BIG', `message of ${bytes} bytes exceeds maxMessageBytes ${limit}`, {
      retryable: false,
    });
  }
}

/** `maxAttempts` reconnect attempts in a row failed; the client stopped. `cause`: the last failure. */
export class ReconnectExhaustedError extends TetherError {
  override name = 'ReconnectExhaustedError';
  constructor(attempts: number, lastCloseCode: number) {
    super(
      'RECONNECT_EXHAUSTED',
      `gave up after ${attempts} reconnect attempts in a row (last close ${lastCloseCode})`,
      { retryable: true },
    );
  }
}

/** The `token` provider threw or rejected; the attempt counts as failed and is retried. */
export class TokenProviderError extends TetherError {
  override name = 'TokenProviderError';
  constructor(cause: unknown) {
    super('TOKEN_PROVIDER_FAILED', `the token provider failed: ${String(cause)}`, {
      retryable: true,
      cause,
    });
  }
}

/** The `url` function threw, rejected or returned no valid URL; the attempt counts as failed and is retried. */
export class UrlProviderError extends TetherError {
  override name = 'UrlProviderError';
  constructor(cause: unknown) {
    const why = cause instanceof Error ? cause.message : String(cause);
    super('URL_PROVIDER_FAILED', `the url provider failed: ${why}`, { retryable: true, cause });
  }
}

/** The server sent something that is not valid Tether (bad JSON, a bad frame, binary data). */
export class ServerProtocolError extends TetherError {
  override name = 'ServerProtocolError';
  constructor(message: string, cause?: unknown) {
    super('SERVER_PROTOCOL_ERROR', message, { retryable: false, cause });
  }
}

/** A `messages()` or `states()` iterator fell more than its buffer size behind. */
export class IteratorOverflowError extends TetherError {
  override name = 'IteratorOverflowError';
  constructor(size: number) {
    super(
      'ITERATOR_OVERFLOW',
      `iterator fell ${size} items behind; read faster or raise iteratorBufferSize`,
    );
  }
}

/**
 * The server skipped a sequence number (`msg`/`req` seq, or a topic offset
 * within an epoch): something between the server and the application was
 * lost. The client reports it, drops the connection and resumes, so the
 * server replays from the last number received (or says it cannot).
 */
export class SequenceGapError extends TetherError {
  override name = 'SequenceGapError';
  /** `seq` for direct messages, or the topic name. */
  readonly stream: string;
  readonly expected: number;
  readonly received: number;
  constructor(stream: string, expected: number, received: number) {
    super(
      'SEQUENCE_GAP',
      `${stream}: expected ${expected}, received ${received}; reconnecting to resume`,
      { retryable: true },
    );
    this.stream = stream;
    this.expected = expected;
    this.received = received;
  }
}

/** `subscribe()` for a topic that already has a live subscription on this client. */
export class DuplicateSubscriptionError extends TetherError {
  override name = 'DuplicateSubscriptionError';
  constructor(topic: string) {
    super(
      'ALREADY_SUBSCRIBED',
      `already subscribed to "${topic}": use client.subscription(topic), or unsubscribe first`,
      { retryable: false },
    );
  }
}

/** A subscription ended (unsubscribed, or the client closed) before the server confirmed it. */
export class SubscriptionEndedError extends TetherError {
  override name = 'SubscriptionEndedError';
  readonly topic: string;
  constructor(topic: string) {
    super('SUBSCRIPTION_ENDED', `the subscription to "${topic}" ended before it was confirmed`, {
      retryable: false,
    });
    this.topic = topic;
  }
}
