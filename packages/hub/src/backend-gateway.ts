import { fullJitterDelay } from '@tether/common';
import type { Json } from '@tether/protocol';
import {
  type AuthContext,
  AuthError,
  type AuthIdentity,
  type Endpoint,
  type Logger,
  type MessageContext,
  type OpenConnection,
  ReplyError,
  type RequestContext,
  type TetherConnection,
  type TopicVerdict,
} from '@tether/server';
import {
  type BackendAnswer,
  BackendClient,
  BackendUnreachable,
  IDEMPOTENCY_HEADER,
} from './backend-client.js';
import { BackendMonitor } from './backend-metrics.js';
import type { BackendConfig, BackendEvent } from './config-types.js';
import type { ConnectionAuth } from './topic-access.js';

/**
 * The backend gateway: the hub forwards client events to the application's backend over
 * HTTP (docs/backend.md).
 *
 * - A reliable message is POSTed with `Idempotency-Key: <session>:<seq>` and acked only
 *   after a 2xx. The server library runs a session's messages one at a time, in order,
 *   and acks only once the handler resolved, so seq N+1 is never forwarded before N got
 *   its answer. 5xx, timeouts and refused connections are retried with full-jitter
 *   backoff for as long as the session lives (connected, or within its resume window);
 *   a 4xx is final: the handler throws a `ReplyError`, the message counts as processed,
 *   and the client's `send()` rejects with the backend's status and message.
 * - A request is POSTed once; the 2xx body is the reply, a 4xx an error reply, anything
 *   else `BACKEND_UNAVAILABLE`.
 * - connect, publish and subscribe (when enabled) ask the backend; disconnect tells it,
 *   without waiting.
 */
export class BackendGateway {
  readonly client: BackendClient;
  readonly monitor: BackendMonitor;
  /** Open connections per session id: a session without one is in its resume window. */
  private readonly connected = new Map<string, number>();
  /** Pending retry waits, cancelled by {@link close}. */
  private readonly waits = new Set<() => void>();
  private closed = false;

  constructor(
    private readonly config: BackendConfig & { url: string },
    private readonly options: {
      logger: Logger;
      /** The endpoint's resume window: how long a message of a disconnected session is retried. */
      resumeWindowMs: number;
      random?: () => number;
    },
  ) {
    this.monitor = new BackendMonitor();
    this.client = new BackendClient(config, (event, outcome, seconds, detail) => {
      this.monitor.observe(event, outcome, seconds, detail);
      if (outcome !== 'ok' && outcome !== 'rejected')
        options.logger.warn({ event, outcome, detail }, 'backend call failed');
    });
  }

  /**
   * The `/readyz` check (not critical: the hub rides out a backend outage, messages wait
   * and are retried): fails with `degraded: ...` after a failed call, until one succeeds.
   */
  check(): void {
    const health = this.monitor.health();
    if (health.state === 'degraded')
      throw new Error(
        `degraded: ${health.failuresInARow} failed call(s) in a row, latest ${health.lastError}; ${health.messagesWaiting} message(s) waiting`,
      );
  }

  /** Whether the gateway forwards `event`. */
  forwards(event: BackendEvent): boolean {
    return this.config.events.includes(event);
  }

  /** Installs the message and request handlers and the connection listeners on `endpoint`. */
  attach(endpoint: Endpoint): () => void {
    const disposers: Array<() => void> = [];
    disposers.push(
      endpoint.on('connection', (connection) => {
        const sid = connection.sessionId;
        this.connected.set(sid, (this.connected.get(sid) ?? 0) + 1);
      }),
      endpoint.on('close', (event) => {
        const sid = event.connection.sessionId;
        if (sid === undefined || event.connection.state === 'handshake') return;
        const left = (this.connected.get(sid) ?? 1) - 1;
        if (left <= 0) this.connected.delete(sid);
        else this.connected.set(sid, left);
        if (this.forwards('disconnect'))
          this.disconnected(event.connection, event.code, event.reason);
      }),
    );
    if (this.forwards('message'))
      disposers.push(endpoint.onMessage((data, context) => this.message(data, context)));
    if (this.forwards('request'))
      disposers.push(endpoint.onRequest((data, context) => this.request(data, context)));
    return () => {
      for (const dispose of disposers) dispose();
    };
  }

  /** Stops retrying and aborts calls in flight (their messages stay unacked: clients resend them). */
  close(): void {
    this.closed = true;
    this.client.close();
    for (const cancel of [...this.waits]) cancel();
  }

  // ---- message ----

  private async message(data: Json, { connection, seq }: MessageContext): Promise<void> {
    const payload = { ...who(connection), seq: seq ?? null, data };
    if (seq === undefined) {
      // Fire-and-forget from the client: one attempt, like the frame itself.
      const answer = await this.client.call('message', payload);
      if (!isOk(answer)) throw answerError('message', answer);
      return;
    }
    const done = this.monitor.waitingStarted();
    try {
      await this.deliver(connection.sessionId, seq, payload);
    } finally {
      done();
    }
  }

  /** POSTs a reliable message until a 2xx (done) or a 4xx (final), while its session lives. */
  private async deliver(
    sid: string,
    seq: number,
    payload: Record<string, Json | undefined>,
  ): Promise<void> {
    const headers = { [IDEMPOTENCY_HEADER]: `${sid}:${seq}` };
    let lostAt: number | undefined;
    for (let attempt = 0; ; attempt += 1) {
      if (attempt > 0) this.monitor.retried('message');
      let failure: string;
      try {
        const answer = await this.client.call('message', payload, headers);
        if (isOk(answer)) return;
        if (answer.status >= 400 && answer.status < 500) throw answerError('message', answer);
        failure = `HTTP ${answer.status}`;
      } catch (err) {
        if (!(err instanceof BackendUnreachable)) throw err;
        failure = err.message;
      }
      if (this.closed) throw new Error('the hub is closing: the message is not processed');
      // Bounded by the session's retention: a session gone for good needs nothing more.
      if (this.connected.has(sid)) lostAt = undefined;
      else {
        lostAt ??= Date.now();
        if (Date.now() - lostAt > this.options.resumeWindowMs) {
          throw new Error(`the backend failed (${failure}) and the session is gone`);
        }
      }
      await this.wait(
        fullJitterDelay(
          attempt,
          {
            minDelayMs: this.config.retry.minDelayMs,
            maxDelayMs: this.config.retry.maxDelayMs,
            factor: 2,
          },
          this.options.random,
        ),
      );
    }
  }

  /** Waits `ms` (an unref'd timer), or less when the gateway closes. */
  private wait(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const cancel = (): void => {
        clearTimeout(timer);
        this.waits.delete(cancel);
        resolve();
      };
      const timer = setTimeout(cancel, ms);
      timer.unref();
      this.waits.add(cancel);
    });
  }

  // ---- request ----

  private async request(data: Json | undefined, context: RequestContext): Promise<Json> {
    let answer: BackendAnswer;
    try {
      answer = await this.client.call('request', {
        ...who(context.connection),
        method: context.method,
        data: data ?? null,
      });
    } catch (err) {
      throw new ReplyError(
        'BACKEND_UNAVAILABLE',
        `the backend did not answer: ${(err as Error).message}`,
      );
    }
    if (isOk(answer)) return answer.body ?? null;
    if (answer.status >= 400 && answer.status < 500) throw answerError('request', answer);
    throw new ReplyError(
      'BACKEND_UNAVAILABLE',
      `the backend failed (${answer.status}): ${errorText(answer)}`,
      { details: { status: answer.status } },
    );
  }

  // ---- connect ----

  /** The `authenticate` hook: the backend admits (200) or refuses (401, 403) a connection. */
  readonly authenticate = async (context: AuthContext): Promise<AuthIdentity> => {
    let answer: BackendAnswer;
    try {
      answer = await this.client.call('connect', {
        token: context.token ?? null,
        ip: context.ip,
        origin: context.origin ?? null,
        path: context.path,
        refresh: context.refresh === true,
        userAgent: context.request.headers['user-agent'] ?? null,
      });
    } catch (err) {
      // Not a refusal: the client retries with backoff (1011).
      throw new Error(`the backend did not answer the connect call: ${(err as Error).message}`);
    }
    if (answer.status === 403) throw new AuthError('forbidden', errorText(answer));
    if (answer.status >= 400 && answer.status < 500)
      throw new AuthError('unauthorized', errorText(answer));
    if (!isOk(answer)) throw new Error(`the backend failed the connect call (${answer.status})`);
    return identityOf(answer.body);
  };

  // ---- publish / subscribe ----

  /** Asks the backend about a client's publication (after the topic namespaces allowed it). */
  async authorizePublish(
    connection: TetherConnection,
    topic: string,
    data: Json | undefined,
  ): Promise<TopicVerdict> {
    return this.authorizeTopic('publish', connection, topic, data);
  }

  async authorizeSubscribe(connection: TetherConnection, topic: string): Promise<TopicVerdict> {
    return this.authorizeTopic('subscribe', connection, topic, undefined);
  }

  private async authorizeTopic(
    event: 'publish' | 'subscribe',
    connection: TetherConnection,
    topic: string,
    data: Json | undefined,
  ): Promise<TopicVerdict> {
    let answer: BackendAnswer;
    try {
      const payload: Record<string, Json | undefined> = { ...who(connection), topic };
      if (event === 'publish') payload.data = data ?? null;
      answer = await this.client.call(event, payload);
    } catch (err) {
      // Fails closed: a topic the backend cannot vouch for is not used.
      return { refuse: `the backend did not answer: ${(err as Error).message}` };
    }
    if (!isOk(answer)) return { refuse: errorText(answer) };
    const body = answer.body;
    if (
      event === 'publish' &&
      typeof body === 'object' &&
      body !== null &&
      !Array.isArray(body) &&
      'data' in body
    ) {
      return { data: body.data ?? null };
    }
    return true;
  }

  // ---- disconnect ----

  /** Tells the backend, without waiting; dropped when the backend is already backed up. */
  private disconnected(connection: TetherConnection, code: number, reason: string): void {
    if (this.closed || this.client.queued > MAX_QUEUED_NOTIFICATIONS) return;
    this.client
      .call('disconnect', { ...who(connection), code, reason })
      .catch((err: unknown) =>
        this.options.logger.debug(
          { err: err instanceof Error ? err.message : String(err) },
          'disconnect notification failed',
        ),
      );
  }
}

/**
 * Disconnect notifications are best effort: past this many calls waiting for a slot of
 * the concurrency limit they are dropped instead of queued without bound.
 */
export const MAX_QUEUED_NOTIFICATIONS = 1000;

/** Who sent an event: the fields every call carries. */
function who(connection: TetherConnection | OpenConnection): Record<string, Json> {
  return {
    user: connection.user ?? null,
    session: connection.sessionId ?? null,
    connection: connection.id,
    ip: connection.ip,
  };
}

function isOk(answer: BackendAnswer): boolean {
  return answer.status >= 200 && answer.status < 300;
}

/**
 * The backend's message in an error answer: `{"error": {"code", "message"}}`,
 * `{"error": "..."}`, `{"message": "..."}`, FastAPI's `{"detail": "..."}`, or the text.
 */
function errorText(answer: BackendAnswer): string {
  const body = answer.body;
  if (typeof body === 'object' && body !== null && !Array.isArray(body)) {
    const error = body.error;
    if (typeof error === 'object' && error !== null && !Array.isArray(error)) {
      if (typeof error.message === 'string') return error.message;
    }
    for (const value of [error, body.message, body.detail, body.reason])
      if (typeof value === 'string') return value;
  }
  return answer.text.trim() === '' ? `HTTP ${answer.status}` : answer.text.trim().slice(0, 500);
}

/** The backend's own error code (`{"error": {"code": "UPPER_SNAKE"}}`), else REJECTED. */
function errorCode(answer: BackendAnswer): string {
  const body = answer.body;
  if (typeof body === 'object' && body !== null && !Array.isArray(body)) {
    const error = body.error;
    if (typeof error === 'object' && error !== null && !Array.isArray(error)) {
      const code = error.code;
      if (typeof code === 'string' && /^[A-Z][A-Z0-9_]{0,63}$/.test(code)) return code;
    }
  }
  return 'REJECTED';
}

/**
 * A 4xx as the error the client gets: the backend's code and message, its HTTP status in
 * `details`. Thrown from the message handler it is the server's final refusal: the
 * message counts as processed and the client's `send()` rejects with it.
 */
function answerError(event: 'message' | 'request', answer: BackendAnswer): ReplyError {
  return new ReplyError(
    errorCode(answer),
    `the backend refused the ${event} (${answer.status}): ${errorText(answer)}`,
    { details: { status: answer.status } },
  );
}

/** The identity of a connection the backend admitted: `{ user, topics, data, expiresAt }`. */
function identityOf(body: Json | undefined): AuthIdentity {
  const answer = typeof body === 'object' && body !== null && !Array.isArray(body) ? body : {};
  const identity: AuthIdentity = {};
  if (typeof answer.user === 'string' && answer.user !== '') identity.user = answer.user;
  const auth: Record<string, Json> = { auth: 'jwt' } satisfies ConnectionAuth;
  const topics = answer.topics;
  if (typeof topics === 'object' && topics !== null && !Array.isArray(topics)) {
    const claims: Record<string, Json> = {};
    for (const action of ['publish', 'subscribe'] as const) {
      const list = topics[action];
      if (Array.isArray(list)) claims[action] = list.filter((t) => typeof t === 'string');
    }
    auth.topics = claims;
  }
  identity.data = auth;
  const data = answer.data;
  if (typeof data === 'object' && data !== null && !Array.isArray(data))
    identity.welcome = data as Record<string, Json>;
  if (typeof answer.expiresAt === 'number' && Number.isFinite(answer.expiresAt))
    identity.expiresAt = answer.expiresAt;
  return identity;
}
