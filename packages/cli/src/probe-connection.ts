import type { IncomingMessage } from 'node:http';
import {
  type Clock,
  DisposerBag,
  listen,
  messageBytes,
  messageText,
  systemClock,
  Timer,
} from '@tether/common';
import {
  authSubprotocol,
  CloseCode,
  type Json,
  PROTOCOL_VERSION,
  SUBPROTOCOL,
} from '@tether/protocol';
import { type RawData, WebSocket } from 'ws';
import { PROBE_DEFAULTS, type ProbeArgs } from './probe-args.js';
import { type CloseContext, preview } from './probe-diagnosis.js';
import { PingTracker } from './probe-pings.js';
import { emptyRecord, type ProbeEvent, type ProbeRecord } from './probe-record.js';

export type { ProbeEvent, ProbeRecord, ProbeWelcome, RttSample } from './probe-record.js';

/**
 * The probe's connection: opens it (Tether handshake or `--raw`), pings on a schedule,
 * answers the server's heartbeats, and records everything it sees until the duration
 * ends, the peer closes, the link goes dead or the run is aborted.
 */

export interface ProbeRunOptions {
  clock?: Clock;
  onEvent?: (event: ProbeEvent) => void;
  /** Aborting ends the probe early, like the end of the duration. */
  signal?: AbortSignal;
}

/** How long the probe waits for the close handshake it started before cutting. */
const CLOSE_WAIT_MS = 2_000;

/** Runs one probe; resolves with the record, never rejects. */
export function runProbeConnection(
  args: ProbeArgs,
  options: ProbeRunOptions = {},
): Promise<ProbeRecord> {
  return new ProbeConnection(args, options).run();
}

class ProbeConnection {
  private readonly clock: Clock;
  private readonly record: ProbeRecord;
  private readonly bag = new DisposerBag();
  private readonly durationTimer: Timer;
  private readonly connectTimer: Timer;
  private readonly pingTimer: Timer;
  private readonly closeTimer: Timer;
  private readonly start: number;
  private ws: WebSocket | undefined;
  private openedAt = 0;
  private lastInbound = 0;
  private readonly pings: PingTracker;
  private ending = false;
  private lastSeq = 0;
  private done: (record: ProbeRecord) => void = () => {};

  constructor(
    private readonly args: ProbeArgs,
    private readonly options: ProbeRunOptions,
  ) {
    this.clock = options.clock ?? systemClock;
    this.start = this.clock.monotonic();
    this.durationTimer = new Timer('tether.probe.duration', this.clock);
    this.connectTimer = new Timer('tether.probe.connect', this.clock);
    this.pingTimer = new Timer('tether.probe.ping', this.clock);
    this.pings = new PingTracker(
      this.clock,
      () =>
        args.pingTimeoutMs ??
        this.record.welcome?.heartbeat.timeoutMs ??
        PROBE_DEFAULTS.pingTimeoutMs,
      () => this.lastInbound,
      (dead) => this.onPingTimeout(dead),
    );
    this.closeTimer = new Timer('tether.probe.close', this.clock);
    this.record = emptyRecord(args.url, args.raw ? 'raw' : 'tether', this.clock.now());
  }

  run(): Promise<ProbeRecord> {
    return new Promise<ProbeRecord>((resolve) => {
      this.done = resolve;
      const signal = this.options.signal;
      if (signal?.aborted) {
        this.record.interrupted = true;
        this.finish();
        return;
      }
      if (signal !== undefined) {
        const onAbort = (): void => {
          this.record.interrupted = true;
          this.end();
        };
        signal.addEventListener('abort', onAbort, { once: true });
        this.bag.add(() => signal.removeEventListener('abort', onAbort));
      }
      this.connect();
    });
  }

  private elapsed(): number {
    return this.clock.monotonic() - this.start;
  }

  private sinceOpen(): number {
    return this.clock.monotonic() - this.openedAt;
  }

  private connect(): void {
    const { args } = this;
    let protocols: string[] = args.subprotocols;
    const headers: Record<string, string> = {};
    if (!args.raw) {
      protocols = [SUBPROTOCOL];
      if (args.token !== undefined) protocols.push(authSubprotocol(args.token));
    } else if (args.token !== undefined) headers.Authorization = `Bearer ${args.token}`;
    const ws = new WebSocket(args.url, protocols, { headers, perMessageDeflate: false });
    this.ws = ws;
    this.connectTimer.start(args.connectTimeoutMs, () => {
      this.fail({
        timedOut: this.record.openMs === undefined ? 'open' : 'welcome',
        timeoutMs: args.connectTimeoutMs,
      });
    });
    this.bag.add(
      listen(ws, 'upgrade', () => {
        this.record.upgradeMs = this.elapsed();
      }),
    );
    this.bag.add(
      listen(ws, 'unexpected-response', (_req: unknown, res: IncomingMessage) => {
        const header = res.headers['retry-after'];
        const retryAfter = Array.isArray(header) ? header[0] : header;
        res.resume();
        this.fail({ status: res.statusCode ?? 0, ...(retryAfter ? { retryAfter } : {}) });
      }),
    );
    this.bag.add(
      listen(ws, 'error', (err: Error & { code?: string }) => {
        if (this.record.openMs === undefined) {
          this.fail({
            ...(err.code === undefined ? {} : { errorCode: err.code }),
            errorMessage: err.message,
          });
        }
      }),
    );
    this.bag.add(listen(ws, 'open', () => this.onOpen(ws)));
    this.bag.add(
      listen(ws, 'message', (data: RawData, isBinary: boolean) => this.onMessage(data, isBinary)),
    );
    this.bag.add(
      listen(ws, 'ping', () => {
        this.lastInbound = this.clock.monotonic();
        this.record.heartbeats.ws += 1;
      }),
    );
    this.bag.add(listen(ws, 'pong', (data: Buffer) => this.onAnswer(data.toString())));
    this.bag.add(
      listen(ws, 'close', (code: number, reason: Buffer) => this.onClose(code, reason.toString())),
    );
  }

  private onOpen(ws: WebSocket): void {
    this.record.openMs = this.elapsed();
    this.openedAt = this.clock.monotonic();
    this.lastInbound = this.openedAt;
    this.record.subprotocol = ws.protocol === '' ? undefined : ws.protocol;
    if (this.args.raw) {
      this.connectTimer.clear();
      this.live();
      return;
    }
    this.sendFrame({ t: 'hello', v: PROTOCOL_VERSION, client: { name: 'tether-probe' } });
  }

  /** The connection is usable: start the clock of the run and the pings. */
  private live(): void {
    this.options.onEvent?.({ type: 'open', record: this.record });
    this.durationTimer.start(this.args.durationMs, () => this.end());
    if (this.args.pingIntervalMs > 0) this.ping();
  }

  private onMessage(data: RawData, isBinary: boolean): void {
    this.lastInbound = this.clock.monotonic();
    this.record.messages.in += 1;
    this.record.messages.bytesIn += messageBytes(data);
    if (this.args.raw || isBinary) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(messageText(data));
    } catch {
      parsed = undefined;
    }
    const frames = Array.isArray(parsed) ? parsed : [parsed];
    for (const frame of frames) {
      if (
        typeof frame === 'object' &&
        frame !== null &&
        typeof (frame as { t?: unknown }).t === 'string'
      ) {
        this.onFrame(frame as Record<string, Json>);
        continue;
      }
      this.count('(not a frame)');
      if (this.record.welcome === undefined) {
        // A Tether server says welcome first; anything else means another kind of server.
        this.fail({ errorCode: 'NOT_TETHER', errorMessage: preview(messageText(data)) });
        return;
      }
    }
  }

  private onFrame(frame: Record<string, Json>): void {
    const type = typeof frame.t === 'string' ? frame.t : '(no type)';
    this.count(type);
    switch (type) {
      case 'welcome':
        this.onWelcome(frame);
        break;
      case 'ping':
        this.record.heartbeats.app += 1;
        this.sendFrame({ t: 'pong', ts: frame.ts ?? 0, rts: this.clock.now() });
        break;
      case 'pong':
        this.onAnswer(String(frame.ts));
        break;
      case 'msg':
        if (typeof frame.seq === 'number' && frame.seq > this.lastSeq) {
          this.lastSeq = frame.seq;
          this.sendFrame({ t: 'ack', seq: frame.seq });
        }
        break;
      case 'goodbye': {
        const retryAfter = typeof frame.retryAfter === 'number' ? frame.retryAfter : undefined;
        this.record.goodbye = {
          code: typeof frame.code === 'number' ? frame.code : 0,
          reason: typeof frame.reason === 'string' ? frame.reason : '',
          retryAfter,
        };
        this.options.onEvent?.({ type: 'goodbye', ...this.record.goodbye });
        break;
      }
      case 'error':
        this.record.serverErrors.push({ code: String(frame.code), message: String(frame.message) });
        break;
      default:
        break;
    }
  }

  private onWelcome(frame: Record<string, Json>): void {
    if (this.record.welcome !== undefined) return;
    this.connectTimer.clear();
    this.record.welcomeMs = this.elapsed();
    const hb = (frame.hb ?? {}) as Record<string, Json>;
    this.record.welcome = {
      sessionId: String(frame.sid),
      connectionId: String(frame.cid),
      heartbeat: { intervalMs: Number(hb.interval), timeoutMs: Number(hb.timeout) },
      limits: Object.fromEntries(
        Object.entries((frame.limits ?? {}) as Record<string, Json>).map(([k, v]) => [
          k,
          Number(v),
        ]),
      ),
      resumeWindowMs: Number(frame.resumeWindow),
    };
    this.live();
  }

  private count(type: string): void {
    this.record.frames[type] = (this.record.frames[type] ?? 0) + 1;
  }

  private ping(): void {
    const ws = this.ws;
    if (ws === undefined || this.ending || ws.readyState !== WebSocket.OPEN) return;
    if (this.args.raw) ws.ping(this.pings.nextKey());
    else {
      const ts = this.pings.nextTimestamp(this.clock.now());
      this.sendFrame({ t: 'ping', ts });
    }
    this.record.pings.sent += 1;
    this.pingTimer.start(this.args.pingIntervalMs, () => this.ping());
  }

  private onAnswer(key: string): void {
    this.lastInbound = this.clock.monotonic();
    const rttMs = this.pings.answered(key);
    if (rttMs === undefined) return;
    const sample = { atMs: this.sinceOpen(), rttMs };
    this.record.pings.answered += 1;
    this.record.samples.push(sample);
    this.options.onEvent?.({ type: 'rtt', sample });
  }

  private onPingTimeout(dead: boolean): void {
    if (this.ending) return;
    this.record.pings.timedOut += 1;
    this.options.onEvent?.({ type: 'ping-timeout', atMs: this.sinceOpen() });
    if (!dead) return;
    this.closeWith({
      code: CloseCode.HEARTBEAT_TIMEOUT,
      reason: 'no answer to pings',
      by: 'probe',
    });
    this.ws?.terminate();
  }

  private sendFrame(frame: Record<string, Json>): void {
    const ws = this.ws;
    if (ws === undefined || ws.readyState !== WebSocket.OPEN) return;
    ws.send(JSON.stringify(frame));
    this.record.messages.out += 1;
  }

  private fail(failure: NonNullable<ProbeRecord['failure']>): void {
    if (this.record.failure !== undefined || this.record.close !== undefined) return;
    this.record.failure = failure;
    this.ws?.terminate();
    this.finish();
  }

  /** Ends the run on purpose (duration over, or aborted): close 1000, wait a moment for the answer. */
  private end(): void {
    if (this.ending) return;
    this.ending = true;
    const ws = this.ws;
    if (
      ws === undefined ||
      ws.readyState === WebSocket.CLOSED ||
      this.record.openMs === undefined
    ) {
      ws?.terminate();
      this.finish();
      return;
    }
    this.record.heldMs = this.sinceOpen();
    ws.close(CloseCode.NORMAL, 'probe finished');
    this.closeTimer.start(CLOSE_WAIT_MS, () => {
      ws.terminate();
      this.finish();
    });
  }

  private onClose(code: number, reason: string): void {
    if (this.ending || this.record.failure !== undefined) {
      this.finish();
      return;
    }
    if (this.record.openMs === undefined) {
      this.fail({ errorMessage: `closed during the upgrade (${code})` });
      return;
    }
    this.closeWith({ code, reason, by: code === CloseCode.ABNORMAL ? 'network' : 'server' });
  }

  private closeWith(close: { code: number; reason: string; by: CloseContext['by'] }): void {
    if (this.record.close !== undefined || this.record.failure !== undefined) return;
    const now = this.clock.monotonic();
    this.record.heldMs = this.sinceOpen();
    this.record.close = {
      ...close,
      afterMs: this.sinceOpen(),
      silenceMs: now - this.lastInbound,
      unansweredPings: this.pings.outstanding + this.record.pings.timedOut,
      goodbye: this.record.goodbye,
    };
    this.ending = true;
    this.finish();
  }

  private finish(): void {
    for (const timer of [this.durationTimer, this.connectTimer, this.pingTimer, this.closeTimer]) {
      timer.clear();
    }
    this.pings.clear();
    if (
      this.record.heldMs === 0 &&
      this.record.openMs !== undefined &&
      this.record.failure === undefined
    ) {
      this.record.heldMs = this.sinceOpen();
    }
    this.bag.dispose();
    // `ws` emits 'error' after terminate() during a handshake; keep one listener so it is not thrown.
    this.ws?.on('error', () => {});
    this.done(this.record);
  }
}
