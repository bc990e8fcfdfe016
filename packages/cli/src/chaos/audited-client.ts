import { TetherClient, type TetherClientOptions, type WebSocketConstructor } from '@tether/client';
import type { Disposer } from '@tether/common';
import type { Json } from '@tether/protocol';
import { WebSocket } from 'ws';
import { SequenceAudit } from './sequence-audit.js';

/**
 * The real Tether client, instrumented for audits: every publication and direct message
 * carries a number `n`, and this records what arrived (through {@link SequenceAudit}),
 * plus everything the application was told: opens (resumed or not), closes by code,
 * errors by code, and the explicit gap signals of subscriptions.
 */

/** Reads the number of an audited payload (`{ n: number, ... }`); undefined otherwise. */
export function auditNumber(data: Json | undefined): number | undefined {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return undefined;
  const n = (data as { n?: Json }).n;
  return typeof n === 'number' ? n : undefined;
}

export class AuditedClient {
  readonly client: TetherClient;
  /** Topic publications received. */
  readonly pubs = new SequenceAudit();
  /** Direct server messages received. */
  readonly messages = new SequenceAudit();
  opens = 0;
  /** Welcomes after the first that resumed the session. */
  resumes = 0;
  /** Welcomes after the first that did not (the session was lost: told, not silent). */
  resumeFailures = 0;
  /** Explicit gap signals and the publications they reported missing (when known). */
  gaps = 0;
  gapMissed = 0;
  /** Wall-clock ms of the latest open. */
  lastOpenAt = 0;
  readonly closes: Record<string, number> = {};
  /** Every close, with its wall-clock time (half-open detection is measured from it). */
  readonly closeLog: Array<{ code: number; at: number }> = [];
  readonly errors: Record<string, number> = {};
  /** Client sends acknowledged by the server. */
  sendsAcked = 0;
  sendsFailed = 0;
  private readonly disposers: Disposer[] = [];

  constructor(
    readonly name: string,
    url: string,
    options: TetherClientOptions = {},
  ) {
    this.client = new TetherClient(url, {
      WebSocket: WebSocket as unknown as WebSocketConstructor,
      clientName: name,
      ...options,
    });
    this.disposers.push(
      this.client.on('open', (event) => {
        this.opens += 1;
        this.lastOpenAt = Date.now();
        if (this.opens > 1) {
          if (event.resumed) this.resumes += 1;
          else this.resumeFailures += 1;
        }
      }),
      this.client.on('close', (event) => {
        this.closes[event.code] = (this.closes[event.code] ?? 0) + 1;
        this.closeLog.push({ code: event.code, at: Date.now() });
      }),
      this.client.on('error', (event) => {
        this.errors[event.error.code] = (this.errors[event.error.code] ?? 0) + 1;
      }),
      this.client.on('message', (event) => {
        const n = auditNumber(event.data);
        if (n !== undefined) this.messages.record(n);
      }),
    );
  }

  get state(): string {
    return this.client.state;
  }

  /** Reconnects so far (opens after the first). */
  get reconnects(): number {
    return Math.max(0, this.opens - 1);
  }

  get sessionId(): string | undefined {
    return this.client.sessionId;
  }

  /** Subscribes to `topic`; resolves once the first `subscribed` arrived. */
  async subscribe(topic: string): Promise<void> {
    const sub = this.client.subscribe(topic);
    this.disposers.push(
      sub.on('pub', (event) => {
        const n = auditNumber(event.data);
        if (n !== undefined) this.pubs.record(n);
      }),
      sub.on('gap', (event) => {
        this.gaps += 1;
        this.gapMissed += event.missed ?? 0;
      }),
    );
    await sub.ready();
  }

  /** Sends `{ n, from: name }` reliably; counts the outcome. */
  send(n: number): Promise<void> {
    return this.client.send({ n, from: this.name }).then(
      () => {
        this.sendsAcked += 1;
      },
      () => {
        this.sendsFailed += 1;
      },
    );
  }

  /** Whether the client is open now. */
  get open(): boolean {
    return this.client.state === 'open';
  }

  async close(): Promise<void> {
    for (const dispose of this.disposers.splice(0)) dispose();
    await this.client.close();
  }
}
