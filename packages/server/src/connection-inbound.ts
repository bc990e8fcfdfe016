import type { RawData } from 'ws';
import { ConnectionLiveness } from './connection-liveness.js';
import type { Logger } from './logger.js';

/** Bits of {@link ConnectionInbound}'s `gate`: one small integer field for its three flags. */
const HELLO_SEEN = 1;
const HOLDING = 2;
/** The hello said `appPings: false`. */
const NO_APP_PINGS = 4;
/** Messages held while the connection waits (an asynchronous hello); more is abuse. */
const MAX_HELD_MESSAGES = 256;
/** One inbound WebSocket message as `ws` reports it. */
export interface Inbound {
  data: RawData;
  isBinary: boolean;
}

/**
 * The inbound side of a connection: whether the hello came, the messages held while an
 * asynchronous hello is answered (handed on in order once released), and the counts.
 * A base class of {@link Connection} (see {@link ConnectionLiveness}).
 */
export abstract class ConnectionInbound extends ConnectionLiveness {
  /** Allocated when the first message is held (most connections never hold one). */
  private held: Inbound[] | undefined = undefined;
  /** {@link HELLO_SEEN} | {@link HOLDING} | {@link NO_APP_PINGS}. */
  private gate = 0;
  private frames = 0;
  private bytes = 0;

  /** The inbound side as its own view (`conn.inbound.helloSeen`): the connection itself. */
  get inbound(): ConnectionInbound {
    return this;
  }

  /** Whether a hello arrived (a second one is a DUPLICATE_HELLO). */
  get helloSeen(): boolean {
    return (this.gate & HELLO_SEEN) !== 0;
  }

  /** `hello.appPings` (false: the client watches liveness itself; WebSocket pings suffice). */
  get appPings(): boolean {
    return (this.gate & NO_APP_PINGS) === 0;
  }

  /** Records the hello's `appPings` (default true). */
  protected pingsWith(appPings: boolean | undefined): void {
    if (appPings === false) this.gate |= NO_APP_PINGS;
    else this.gate &= ~NO_APP_PINGS;
  }

  /** Client frames received (a batch counts each frame in it). */
  get messagesIn(): number {
    return this.frames;
  }

  get bytesIn(): number {
    return this.bytes;
  }

  helloArrived(): void {
    this.gate |= HELLO_SEEN;
  }

  /** `frames` client frames arrived in one WebSocket message. */
  countFrames(frames: number): void {
    this.frames += frames;
  }

  /** A WebSocket message of `bytes` arrived. */
  protected received(bytes: number): void {
    this.bytes += bytes;
  }

  /** Whether messages are being held. */
  protected get isHolding(): boolean {
    return (this.gate & HOLDING) !== 0;
  }

  /** Stops passing messages on until {@link releaseHeld}. */
  protected holdMessages(): void {
    this.gate |= HOLDING;
  }

  /** Keeps `message` while held; false when too many wait (the connection is abusive). */
  protected keep(message: Inbound): boolean {
    this.held ??= [];
    if (this.held.length >= MAX_HELD_MESSAGES) return false;
    this.held.push(message);
    return true;
  }

  /** Hands the held messages to `route` in order, while the gate stays open and `more()`. */
  protected releaseHeld(route: (message: Inbound) => void, more: () => boolean): void {
    this.gate &= ~HOLDING;
    const held = this.held;
    while (held !== undefined && !this.isHolding && held.length > 0 && more()) {
      route(held.shift() as Inbound);
    }
  }

  protected clearHeld(): void {
    this.held = undefined;
  }
}

/** Logs a socket error; the close that follows ends the connection. */
export function logSocketError(
  logger: Logger,
  connection: { readonly id: string; readonly ip: string },
  err: Error,
): void {
  const cid = connection.id;
  // ws reports its own rejections (1009, 1007, 1002) here too; those are the client's fault.
  const code = (err as Error & { code?: string }).code;
  if (typeof code === 'string' && code.startsWith('WS_ERR_')) {
    logger.info({ cid, ip: connection.ip, code }, 'client broke the WebSocket protocol');
    return;
  }
  logger.info({ cid, ip: connection.ip, err: err.message }, 'socket error');
}
