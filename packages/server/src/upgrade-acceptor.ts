import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Clock } from '@tether/common';
import { CloseCode, EARLY_SUBPROTOCOL, SUBPROTOCOL } from '@tether/protocol';
import { WebSocketServer } from 'ws';
import { type AuthOutcome, authenticateUpgrade } from './auth.js';
import type { ConnectionIdentity } from './connection-host.js';
import { SERVER_DEFAULTS } from './defaults.js';
import { clientIp, EarlyHellos, IpCounter, offeredSubprotocols } from './handshake.js';
import { rejectUpgrade, retryAfterSeconds } from './http-reject.js';
import type { Logger } from './logger.js';
import type { ResolvedEndpointOptions } from './options.js';
import type { EndpointCounters, RefusalReason } from './stats.js';
import { TetherSocket } from './tether-socket.js';
import type { TrustedProxies } from './trusted-proxies.js';
import { destroySocket } from './upgrade-router.js';

/** A refusal decided before the upgrade, delivered after it as goodbye + close. */
export interface LateRefusal {
  code: number;
  reason: string;
}

/** What the acceptor needs from its endpoint. */
export interface AcceptorHost {
  readonly path: string;
  readonly options: ResolvedEndpointOptions;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly counters: EndpointCounters;
  readonly trustProxy: TrustedProxies;
  /** The `Retry-After` hint (ms) while draining, undefined otherwise. */
  drainRetryAfterMs(): number | undefined;
  /** A handshake started waiting for the auth hook (the sweep must run). */
  waiting(): void;
  /**
   * A socket was upgraded; with `refusal` it must be closed right away. `earlyHello`: the
   * client's `hello` carried in the upgrade (its JSON's UTF-8 bytes), to be taken as its
   * first message.
   */
  upgraded(
    ws: TetherSocket,
    identity: ConnectionIdentity,
    refusal: LateRefusal | undefined,
    earlyHello: Buffer | undefined,
  ): void;
  /** A pending handshake finished either way. */
  handshakeDone(): void;
}

interface PendingHandshake {
  startedAt: number;
  settle(outcome: AuthOutcome): void;
}

/**
 * The upgrade path of one endpoint, in order: draining (503 + Retry-After), subprotocol
 * (400), origin (403), per-IP cap (429 + Retry-After), then the `authenticate` hook,
 * whose refusals are delivered after the upgrade (goodbye + 4001/4003) because browsers
 * cannot read the HTTP status of a failed upgrade. The hook's deadline is checked by the
 * heartbeat sweep, not a timer per handshake.
 */
export class UpgradeAcceptor {
  private readonly wss: WebSocketServer;
  private readonly pending = new Set<PendingHandshake>();
  /**
   * Whether the upgrade ws is completing now came with its `hello` (it gets
   * `tether.v1.early`): ws asks `handleProtocols` synchronously inside `handleUpgrade`.
   */
  private upgradingEarly = false;
  private readonly ips = new IpCounter();
  private readonly earlyHellos: EarlyHellos;

  constructor(private readonly host: AcceptorHost) {
    this.earlyHellos = new EarlyHellos(host.options.maxMessageBytes);
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: host.options.maxMessageBytes,
      perMessageDeflate: false,
      clientTracking: false,
      // ws would otherwise select the first offered protocol, which may be a tether.auth.* token.
      handleProtocols: () => (this.upgradingEarly ? EARLY_SUBPROTOCOL : SUBPROTOCOL),
      WebSocket: TetherSocket,
    });
  }

  /** Upgrades waiting for the auth hook. */
  get pendingCount(): number {
    return this.pending.size;
  }

  handle(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    const { options } = this.host;
    if (this.refuseIfDraining(socket)) return;
    const offered = offeredSubprotocols(request);
    if (!offered.includes(SUBPROTOCOL)) {
      this.refuse(
        'subprotocol',
        socket,
        400,
        `this endpoint speaks the WebSocket subprotocol "${SUBPROTOCOL}": offer it in Sec-WebSocket-Protocol`,
      );
      return;
    }
    const origin = request.headers.origin;
    let originOk: boolean;
    try {
      originOk = options.originAllowed(origin, request);
    } catch (err) {
      this.host.logger.error(
        { err: err instanceof Error ? err.message : String(err) },
        'origins hook threw',
      );
      originOk = false;
    }
    if (!originOk) {
      this.refuse('origin', socket, 403, `origin ${String(origin).slice(0, 200)} is not allowed`);
      return;
    }
    const ip = clientIp(request, this.host.trustProxy);
    if (!this.ips.acquire(ip, options.maxConnectionsPerIp)) {
      this.refuse('perIp', socket, 429, 'too many connections from this address', {
        'Retry-After': retryAfterSeconds(SERVER_DEFAULTS.refusedRetryAfterMs),
      });
      return;
    }
    // Read only for an upgrade that is not refused. One over the message limit is not
    // taken: the client then sends its hello as a frame, which the limit refuses (1009).
    const earlyHello = this.earlyHellos.of(offered);
    const authenticate = options.authenticate;
    if (authenticate === undefined) {
      this.accept(request, socket, head, ip, earlyHello, {
        ok: true,
        user: undefined,
        data: undefined,
        expiresAt: undefined,
      });
      return;
    }
    let done = false;
    const handshake: PendingHandshake = {
      startedAt: this.host.clock.monotonic(),
      settle: (outcome) => {
        if (done) return;
        done = true;
        this.pending.delete(handshake);
        this.accept(request, socket, head, ip, earlyHello, outcome);
        this.host.handshakeDone();
      },
    };
    this.pending.add(handshake);
    this.host.waiting();
    authenticateUpgrade(
      authenticate,
      { request, offered, ip, origin, path: this.host.path },
      this.host.logger,
      () => this.host.clock.now(),
      handshake.settle,
    );
  }

  /** Gives back the per-IP slot of a closed connection. */
  release(ip: string): void {
    this.ips.release(ip);
  }

  /** Settles handshakes whose auth hook ran past `handshakeTimeoutMs` (4000 after the upgrade). */
  sweep(now: number): void {
    for (const handshake of this.pending) {
      if (now - handshake.startedAt >= this.host.options.handshakeTimeoutMs) {
        this.host.logger.info({}, 'authenticate hook timed out');
        handshake.settle({
          ok: false,
          code: CloseCode.HANDSHAKE_TIMEOUT,
          reason: 'authentication did not finish in time',
          counter: 'authTimeout',
        });
      }
    }
  }

  /** Answers every pending handshake now (while draining: 503). */
  settleAll(): void {
    for (const handshake of this.pending) {
      handshake.settle({
        ok: false,
        code: CloseCode.SERVICE_RESTART,
        reason: 'server shut down',
        counter: 'draining',
      });
    }
  }

  close(): void {
    this.wss.close();
  }

  private refuseIfDraining(socket: Duplex): boolean {
    const retryAfterMs = this.host.drainRetryAfterMs();
    if (retryAfterMs === undefined) return false;
    this.refuse('draining', socket, 503, 'server is shutting down, retry shortly', {
      'Retry-After': retryAfterSeconds(retryAfterMs),
    });
    return true;
  }

  private refuse(
    reason: RefusalReason,
    socket: Duplex,
    status: number,
    message: string,
    headers?: Record<string, string | number>,
  ): void {
    this.host.counters.refuse(reason);
    this.host.logger.info({ status, reason }, 'upgrade refused');
    rejectUpgrade(socket, status, message, headers);
  }

  private accept(
    request: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    ip: string,
    earlyHello: Buffer | undefined,
    outcome: AuthOutcome,
  ): void {
    if (socket.destroyed || !socket.writable) {
      this.ips.release(ip);
      return;
    }
    if (this.refuseIfDraining(socket)) {
      this.ips.release(ip);
      return;
    }
    let upgraded = false;
    // With an early hello the welcome follows the 101 in this turn: ws writes the 101
    // into the corked socket, which uncorks at the first frame sent
    // (TetherSocket.firstSendJoins101). A handshake ws refuses ends the socket, uncorking it.
    if (earlyHello !== undefined) socket.cork();
    this.upgradingEarly = earlyHello !== undefined;
    try {
      this.wss.handleUpgrade(request, socket, head, (ws) => {
        upgraded = true;
        socket.removeListener('error', destroySocket);
        if (earlyHello !== undefined) (ws as TetherSocket).firstSendJoins101();
        if (outcome.ok) {
          this.host.upgraded(
            ws as TetherSocket,
            {
              ip,
              user: outcome.user,
              data: outcome.data,
              expiresAt: outcome.expiresAt,
              welcome: outcome.welcome,
              // Kept only while a refresh may need it (an auth frame's hook sees it again).
              request: outcome.expiresAt === undefined ? undefined : request,
            },
            undefined,
            earlyHello,
          );
          return;
        }
        this.host.counters.refuse(outcome.counter);
        this.host.logger.info({ ip, code: outcome.code }, 'authentication refused');
        this.host.upgraded(
          ws as TetherSocket,
          { ip, user: undefined, data: undefined, expiresAt: undefined, request: undefined },
          { code: outcome.code, reason: outcome.reason },
          undefined,
        );
      });
    } finally {
      this.upgradingEarly = false;
    }
    // ws answered the request itself (a malformed handshake): give the slot back.
    if (!upgraded) this.ips.release(ip);
  }
}
