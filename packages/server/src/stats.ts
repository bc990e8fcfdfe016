/** Why an upgrade was refused before or right after the handshake. */
export type RefusalReason =
  | 'subprotocol'
  | 'origin'
  | 'perIp'
  | 'draining'
  | 'unauthorized'
  | 'forbidden'
  | 'authFailed'
  | 'authTimeout';

/** A snapshot of one endpoint's counters. */
export interface EndpointStats {
  path: string;
  /** Open sockets (any state). */
  connections: number;
  /** Sockets welcomed and open. */
  ready: number;
  /** Upgrades waiting for the `authenticate` hook. */
  pendingHandshakes: number;
  /** Upgrades accepted since start. */
  accepted: number;
  /** Upgrades refused, by reason. */
  refused: Record<RefusalReason, number>;
  /** Closes by close code (as reported in the close event). */
  closes: Record<string, number>;
  heartbeatTimeouts: number;
  handshakeTimeouts: number;
  slowConsumers: number;
  /** Frames dropped by the rate limit. */
  rateLimited: number;
  messagesIn: number;
  messagesOut: number;
  bytesIn: number;
  bytesOut: number;
  /** Error frames sent. */
  errors: number;
  /** Request and message handlers running now. */
  inFlight: number;
  /** Whether the endpoint refuses new upgrades because the server is shutting down. */
  draining: boolean;
}

/** The running counters behind {@link EndpointStats}. */
export class EndpointCounters {
  accepted = 0;
  refused: Record<RefusalReason, number> = {
    subprotocol: 0,
    origin: 0,
    perIp: 0,
    draining: 0,
    unauthorized: 0,
    forbidden: 0,
    authFailed: 0,
    authTimeout: 0,
  };
  closes: Record<string, number> = {};
  heartbeatTimeouts = 0;
  handshakeTimeouts = 0;
  slowConsumers = 0;
  rateLimited = 0;
  messagesIn = 0;
  messagesOut = 0;
  bytesIn = 0;
  bytesOut = 0;
  errors = 0;
  inFlight = 0;

  countClose(code: number): void {
    const key = String(code);
    this.closes[key] = (this.closes[key] ?? 0) + 1;
  }
}
