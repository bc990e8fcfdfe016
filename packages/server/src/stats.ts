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

/** Why a resume failed (the `reason` of a `welcome` with `resumed: false`). */
export type ResumeFailure = 'unknown' | 'expired' | 'gap' | 'invalid';

/** Resume attempts of an endpoint: succeeded, and failed by reason. */
export interface ResumeCounts {
  ok: number;
  failed: Record<ResumeFailure, number>;
}

/** The details of reliable delivery on an endpoint since start. */
export interface DeliveryDetails {
  /** Direct messages stored for delivery (`sendTo`, `sendToUser`). */
  messagesStored: number;
  /** Direct messages sent again on resume (the replay after a reconnect). */
  messagesReplayed: number;
  /** Unacknowledged direct messages dropped because a session's retention overflowed. */
  messagesDropped: number;
  /** Topic publications replayed to subscribers (`from`, `last`, or catching up). */
  publicationsReplayed: number;
  /** Reliable client frames dropped because an earlier one was missing (not acked: resent later). */
  outOfOrderDropped: number;
  /** Reliable client frames whose handler failed or was missing (not acked: resent later). */
  failedProcessing: number;
  /** Sessions dropped to keep a user under `maxSessionsPerUser` (connected ones closed with 4013). */
  sessionsEvicted: number;
}

/** The session and replay part of {@link EndpointStats}. */
export interface DeliveryStats {
  /** Sessions held in memory (connected, or disconnected within their window). */
  sessions: number;
  /** `hello.resume` outcomes: `ok`, or the reason it failed. */
  resumes: ResumeCounts;
  /** Messages and publications replayed (after a resume, for `from`/`last`, or catching up). */
  replayed: number;
  /** Reliable client frames received again after they were processed: dropped, acked again. */
  duplicates: number;
  delivery: DeliveryDetails;
}

/** A snapshot of one endpoint's counters. */
export interface EndpointStats extends DeliveryStats {
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
  /** Connections closed with 4009 because they held more than `slowConsumerBytes`. */
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

/** The plain counters of {@link EndpointCounters}. */
export type CounterName = {
  [K in keyof EndpointCounters]: EndpointCounters[K] extends number ? K : never;
}[keyof EndpointCounters];

/**
 * The running counters behind {@link EndpointStats}. Other files count through
 * {@link add}, {@link refuse}, {@link resumeFailed} and {@link countClose}.
 */
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
  resumesOk = 0;
  resumesFailed: Record<ResumeFailure, number> = { unknown: 0, expired: 0, gap: 0, invalid: 0 };
  messagesStored = 0;
  messagesReplayed = 0;
  messagesDropped = 0;
  publicationsReplayed = 0;
  duplicatesDropped = 0;
  outOfOrderDropped = 0;
  failedProcessing = 0;
  sessionsEvicted = 0;

  /** The session and replay part of the stats. */
  deliveryStats(sessions: number): DeliveryStats {
    return {
      sessions,
      resumes: { ok: this.resumesOk, failed: { ...this.resumesFailed } },
      replayed: this.messagesReplayed + this.publicationsReplayed,
      duplicates: this.duplicatesDropped,
      delivery: {
        messagesStored: this.messagesStored,
        messagesReplayed: this.messagesReplayed,
        messagesDropped: this.messagesDropped,
        publicationsReplayed: this.publicationsReplayed,
        outOfOrderDropped: this.outOfOrderDropped,
        failedProcessing: this.failedProcessing,
        sessionsEvicted: this.sessionsEvicted,
      },
    };
  }

  /** The endpoint's stats: these counters and what the endpoint knows of `now`. */
  stats(now: {
    path: string;
    connections: number;
    ready: number;
    pendingHandshakes: number;
    draining: boolean;
    sessions: number;
  }): EndpointStats {
    return {
      path: now.path,
      connections: now.connections,
      ready: now.ready,
      pendingHandshakes: now.pendingHandshakes,
      accepted: this.accepted,
      refused: { ...this.refused },
      closes: { ...this.closes },
      heartbeatTimeouts: this.heartbeatTimeouts,
      handshakeTimeouts: this.handshakeTimeouts,
      slowConsumers: this.slowConsumers,
      rateLimited: this.rateLimited,
      messagesIn: this.messagesIn,
      messagesOut: this.messagesOut,
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
      errors: this.errors,
      inFlight: this.inFlight,
      draining: now.draining,
      ...this.deliveryStats(now.sessions),
    };
  }

  /** Adds `by` (default 1; negative to count down) to the counter `name`. */
  add(name: CounterName, by = 1): void {
    this[name] += by;
  }

  /** Counts one write: `messages` frames in `bytes` (on every socket of a fan-out: no keyed access). */
  sent(messages: number, bytes: number): void {
    this.messagesOut += messages;
    this.bytesOut += bytes;
  }

  /** Counts a refused upgrade. */
  refuse(reason: RefusalReason): void {
    this.refused[reason] += 1;
  }

  /** Counts a resume that failed. */
  resumeFailed(reason: ResumeFailure): void {
    this.resumesFailed[reason] += 1;
  }

  countClose(code: number): void {
    const key = String(code);
    this.closes[key] = (this.closes[key] ?? 0) + 1;
  }
}
