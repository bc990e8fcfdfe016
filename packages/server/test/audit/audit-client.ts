/**
 * The real client, configured and instrumented for the audits: fast reconnects (the
 * audits cut hundreds of connections and must finish in seconds), no circuit breaker
 * (a client cut five times in a row would otherwise sit out 60 s), and a record of
 * everything the application was told: opens (resumed or not, and why), closes by code,
 * errors, and gap signals of subscriptions.
 */
import {
  type SubscribeOptions,
  TetherClient,
  type TetherClientOptions,
  type WebSocketConstructor,
} from '@tether/client';
import type { Disposer } from '@tether/common';
import type { Json } from '@tether/protocol';
import { WebSocket } from 'ws';

/** Client options every audit client shares (see the file comment for why). */
export const AUDIT_CLIENT_OPTIONS = {
  WebSocket: WebSocket as unknown as WebSocketConstructor,
  minReconnectDelayMs: 5,
  maxReconnectDelayMs: 100,
  minUptimeMs: 100,
  breakerThreshold: 0,
  connectTimeoutMs: 5_000,
} satisfies TetherClientOptions;

/** A `resumed: false` the application was told about. */
export interface SessionLoss {
  reason: string | undefined;
  /** Which open it was (1 = first connection). */
  open: number;
}

/** A subscription's explicit gap signal (`recovered: false`). */
export interface GapSignal {
  topic: string;
  detail: string;
}

/** A TetherClient plus what happened to it. */
export class AuditClient {
  readonly client: TetherClient;
  /** Welcomes received. */
  opens = 0;
  /** Welcomes with `resumed: true`. */
  resumes = 0;
  /** `resumed: false` after the first connection (a lost session). */
  readonly sessionLosses: SessionLoss[] = [];
  /** Close codes, in order. */
  readonly closes: number[] = [];
  /** Error codes surfaced as `error` events, in order. */
  readonly errors: string[] = [];
  /** Explicit gap signals of subscriptions. */
  readonly gaps: GapSignal[] = [];
  /** Publications whose data carried no number (never expected). */
  readonly strays: string[] = [];
  private readonly disposers: Disposer[] = [];

  constructor(
    readonly name: string,
    url: string,
    options: TetherClientOptions = {},
  ) {
    this.client = new TetherClient(url, { ...AUDIT_CLIENT_OPTIONS, ...options });
    this.disposers.push(
      this.client.on('open', (event) => {
        this.opens += 1;
        if (event.resumed) this.resumes += 1;
      }),
      // Emitted on every welcome, before `open`: a refused resume carries its reason.
      this.client.on('session', (event) => {
        if (!event.resumed && event.previousSessionId !== undefined)
          this.sessionLosses.push({ reason: event.reason, open: this.opens + 1 });
      }),
      this.client.on('close', (event) => {
        this.closes.push(event.code);
      }),
      this.client.on('error', (event) => {
        this.errors.push(event.error.code);
      }),
    );
  }

  /** Reconnects so far (opens after the first). */
  get reconnects(): number {
    return Math.max(0, this.opens - 1);
  }

  /**
   * Subscribes to `topic` and calls `onNumber` with the `n` of every publication
   * delivered (`{ n }` payloads); gap signals and subscription errors are recorded.
   * Resolves on the first `subscribed`.
   */
  async follow(
    topic: string,
    onNumber: (n: number) => void,
    options: SubscribeOptions = {},
  ): Promise<void> {
    const subscription = this.client.subscribe(topic, options);
    this.disposers.push(
      subscription.on('pub', (event) => {
        const n = numberOf(event.data);
        if (n === undefined) this.strays.push(JSON.stringify(event.data).slice(0, 200));
        else onNumber(n);
      }),
      subscription.on('gap', (event) => {
        const { type: _type, ...detail } = event;
        this.gaps.push({ topic, detail: JSON.stringify(detail) });
      }),
      subscription.on('error', (event) => {
        this.errors.push(`subscription:${event.error.code}`);
      }),
    );
    await subscription.ready();
  }

  /** Resolves once the client is open (rejects if it reaches `closed` first). */
  connected(): Promise<void> {
    return this.client.connect();
  }

  /** Short state for failure messages. */
  describe(): string {
    return `${this.name}: state ${this.client.state}, opens ${this.opens}, resumes ${this.resumes}, closes [${summarize(this.closes)}], errors [${summarize(this.errors)}]`;
  }

  async close(): Promise<void> {
    for (const dispose of this.disposers.splice(0)) dispose();
    await this.client.close();
  }
}

/** The `n` of a `{ n, ... }` payload. */
export function numberOf(data: Json | undefined): number | undefined {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return undefined;
  const n = (data as Record<string, Json>).n;
  return typeof n === 'number' ? n : undefined;
}

/** `code×count` pairs, for compact failure messages. */
export function summarize(values: readonly (number | string)[]): string {
  const counts = new Map<number | string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts].map(([v, n]) => `${v}×${n}`).join(', ');
}
