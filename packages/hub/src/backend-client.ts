import { createHmac } from 'node:crypto';
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Json } from '@tether/protocol';
import type { BackendConfig, BackendEvent } from './config-types.js';

/**
 * The HTTP side of the backend gateway: one signed POST per call, a deadline, and a
 * global limit of calls in flight. It never retries (the gateway decides that per event)
 * and never throws for an answer: a 4xx or 5xx is an answer; only a call that got none
 * (refused, reset, timed out) is a {@link BackendUnreachable}.
 */

/** Header with the signing time, in whole seconds since the Unix epoch. */
export const TIMESTAMP_HEADER = 'X-Tether-Timestamp';
/** Header with the signature: `v1=<hex HMAC-SHA256 of "timestamp.body">`. */
export const SIGNATURE_HEADER = 'X-Tether-Signature';
/** Header with the key a backend deduplicates a message by: `<session>:<seq>`. */
export const IDEMPOTENCY_HEADER = 'Idempotency-Key';
/** Header naming the event (`message`, `request`, ...). */
export const EVENT_HEADER = 'X-Tether-Event';

/** Most bytes of a backend answer the hub reads; a bigger one is a failed call. */
export const MAX_ANSWER_BYTES = 1024 * 1024;

/** The signature of `body` sent at `timestamp` (seconds), as the header carries it. */
export function signature(secret: string, timestamp: string, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** What the backend answered. */
export interface BackendAnswer {
  status: number;
  /** The JSON body, when it had one that parses; undefined otherwise. */
  body: Json | undefined;
  /** The body as text (capped), for error messages. */
  text: string;
}

/** A call that got no answer: connection refused or reset, timed out, or an oversized body. */
export class BackendUnreachable extends Error {
  override name = 'BackendUnreachable';

  constructor(
    message: string,
    readonly outcome: 'timeout' | 'unreachable',
  ) {
    super(message);
  }
}

/** Where one call's outcome is reported (metrics, health). */
export type CallObserver = (
  event: BackendEvent,
  outcome: CallOutcome,
  seconds: number,
  detail: string,
) => void;

/** Outcome label of one call: `ok` (2xx), `rejected` (4xx), `failed` (other), `timeout`, `unreachable`. */
export type CallOutcome = 'ok' | 'rejected' | 'failed' | 'timeout' | 'unreachable';

/** Calls the backend. */
export class BackendClient {
  private active = 0;
  private readonly waiting: Array<() => void> = [];
  private closed = false;
  /** Aborts of the calls in flight, for {@link close}. */
  private readonly inFlight = new Set<() => void>();
  private httpAgent: HttpAgent | undefined;
  private httpsAgent: HttpsAgent | undefined;

  constructor(
    private readonly config: BackendConfig & { url: string },
    private readonly observe: CallObserver = () => {},
  ) {}

  /** Calls waiting for a free slot of the concurrency limit. */
  get queued(): number {
    return this.waiting.length;
  }

  /**
   * POSTs `payload` as JSON to the event's path, signed when a secret is set. Resolves
   * with the answer, whatever its status; rejects with {@link BackendUnreachable} when
   * none came, or when {@link close} was called.
   */
  async call(
    event: BackendEvent,
    payload: Record<string, Json | undefined>,
    headers: Record<string, string> = {},
  ): Promise<BackendAnswer> {
    await this.slot();
    const started = performance.now();
    try {
      const answer = await this.post(event, payload, headers);
      const outcome: CallOutcome =
        answer.status >= 200 && answer.status < 300
          ? 'ok'
          : answer.status >= 400 && answer.status < 500
            ? 'rejected'
            : 'failed';
      this.observe(event, outcome, (performance.now() - started) / 1000, `HTTP ${answer.status}`);
      return answer;
    } catch (err) {
      const failure =
        err instanceof BackendUnreachable
          ? err
          : new BackendUnreachable(err instanceof Error ? err.message : String(err), 'unreachable');
      this.observe(event, failure.outcome, (performance.now() - started) / 1000, failure.message);
      throw failure;
    } finally {
      this.release();
    }
  }

  /** Aborts every call in flight and refuses new ones. */
  close(): void {
    this.closed = true;
    for (const abort of [...this.inFlight]) abort();
    for (const wake of this.waiting.splice(0)) wake();
    this.httpAgent?.destroy();
    this.httpsAgent?.destroy();
  }

  private post(
    event: BackendEvent,
    payload: Record<string, Json | undefined>,
    extra: Record<string, string>,
    staleRetried = false,
  ): Promise<BackendAnswer> {
    if (this.closed)
      return Promise.reject(new BackendUnreachable('the hub is closing', 'unreachable'));
    const body = JSON.stringify(payload);
    const headers: Record<string, string | number> = {
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(body),
      [EVENT_HEADER]: event,
      ...extra,
    };
    if (this.config.secret !== undefined) {
      const timestamp = String(Math.floor(Date.now() / 1000));
      headers[TIMESTAMP_HEADER] = timestamp;
      headers[SIGNATURE_HEADER] = signature(this.config.secret, timestamp, body);
    }
    const url = new URL(`${this.config.url}${this.config.paths[event]}`);
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise<BackendAnswer>((resolve, reject) => {
      let settled = false;
      const finish = (outcome: BackendAnswer | BackendUnreachable): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.inFlight.delete(abort);
        if (outcome instanceof BackendUnreachable) {
          request.destroy();
          reject(outcome);
        } else resolve(outcome);
      };
      const fail = (message: string, kind: 'timeout' | 'unreachable' = 'unreachable'): void =>
        finish(new BackendUnreachable(message, kind));
      const abort = (): void => fail('the hub is closing');
      // One deadline for the whole call: connect, send, the answer and its body.
      const timer = setTimeout(
        () => fail(`no answer from ${url.href} within ${this.config.timeoutMs} ms`, 'timeout'),
        this.config.timeoutMs,
      );
      timer.unref();
      this.inFlight.add(abort);
      const request = send(url, { method: 'POST', headers, agent: this.agent(url) }, (response) => {
        const chunks: Buffer[] = [];
        let total = 0;
        response.on('data', (chunk: Buffer) => {
          total += chunk.length;
          if (total > MAX_ANSWER_BYTES) fail(`the answer is larger than ${MAX_ANSWER_BYTES} bytes`);
          else chunks.push(chunk);
        });
        response.on('error', (err) => fail(`${url.href}: ${err.message}`));
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: Json | undefined;
          if (text.trim() !== '') {
            try {
              parsed = JSON.parse(text) as Json;
            } catch {
              parsed = undefined;
            }
          }
          finish({ status: response.statusCode ?? 0, body: parsed, text: text.slice(0, 1000) });
        });
      });
      request.on('error', (err: NodeJS.ErrnoException) => {
        if (!staleRetried && !settled && request.reusedSocket && err.code === 'ECONNRESET') {
          // A kept-alive socket the backend closed as we reused it: nothing was processed;
          // one more try on a fresh socket (the race Node's http docs describe).
          settled = true;
          clearTimeout(timer);
          this.inFlight.delete(abort);
          resolve(this.post(event, payload, extra, true));
          return;
        }
        fail(`${url.href}: ${err.code ?? err.message}`);
      });
      request.end(body);
    });
  }

  /** Keep-alive agents, one per protocol, sized to the concurrency limit. */
  private agent(url: URL): HttpAgent {
    if (url.protocol === 'https:') {
      this.httpsAgent ??= new HttpsAgent({ keepAlive: true, maxSockets: this.config.concurrency });
      return this.httpsAgent;
    }
    this.httpAgent ??= new HttpAgent({ keepAlive: true, maxSockets: this.config.concurrency });
    return this.httpAgent;
  }

  /** Waits for a free slot of `concurrency`, first come first served. */
  private slot(): Promise<void> {
    if (this.active < this.config.concurrency) {
      this.active += 1;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      this.waiting.push(() => {
        this.active += 1;
        resolve();
      });
    });
  }

  private release(): void {
    this.active -= 1;
    const next = this.waiting.shift();
    next?.();
  }
}
