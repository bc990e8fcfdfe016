import { randomBytes } from 'node:crypto';
import type { HelloFrame, WelcomeFrame } from '@tether/protocol';

/**
 * The seam for sessions. This issue ships {@link EphemeralSessions}: every hello gets a
 * fresh session that ends with its connection. Durable sessions (resume, replay,
 * retention in a Store) replace it behind the same two interfaces.
 */

/** One session as the frame router sees it. */
export interface Session {
  readonly id: string;
  /** Highest client sequence number processed (acked): welcome's `ack`. */
  readonly inSeq: number;
  /** Highest server sequence number sent in this session (0 until durable sessions send `msg` with seq). */
  readonly outSeq: number;
  /**
   * Claims client sequence number `seq` for processing. False when it was claimed
   * before: a duplicate, whose handler must not run again (it is acked again instead).
   */
  claim(seq: number): boolean;
  /** Records `seq` as processed; returns the cumulative ack to send. */
  processed(seq: number): number;
}

/** The session a hello led to, and what the welcome says about it. */
export interface SessionGrant {
  session: Session;
  /** Resume token for the next hello. */
  token: string;
  resumed: boolean;
  /** Why a requested resume failed. */
  reason?: WelcomeFrame['reason'];
}

/** Who a hello comes from. */
export interface SessionRequest {
  hello: HelloFrame;
  connectionId: string;
  user: string | undefined;
}

/** Creates, resumes and releases sessions. May answer asynchronously (a store lookup). */
export interface Sessions {
  open(request: SessionRequest): SessionGrant | Promise<SessionGrant>;
  /** The connection bound to `session` closed. */
  detach(session: Session, connectionId: string): void;
  /** Sessions currently held. */
  readonly size: number;
}

/** A random id of `bytes` random bytes, base64url. */
export function randomId(bytes = 12): string {
  return randomBytes(bytes).toString('base64url');
}

class EphemeralSession implements Session {
  inSeq = 0;
  readonly outSeq = 0;
  private claimed = 0;

  constructor(readonly id: string) {}

  claim(seq: number): boolean {
    if (seq <= this.claimed) return false;
    this.claimed = seq;
    return true;
  }

  processed(seq: number): number {
    if (seq > this.inSeq) this.inSeq = seq;
    return this.inSeq;
  }
}

/**
 * Sessions that live as long as their connection: a new random id and token for every
 * hello; a resume request is answered `resumed: false, reason: 'unknown'`.
 */
export class EphemeralSessions implements Sessions {
  private readonly live = new Map<string, Session>();

  open(request: SessionRequest): SessionGrant {
    const session = new EphemeralSession(randomId());
    this.live.set(session.id, session);
    const grant: SessionGrant = { session, token: randomId(24), resumed: false };
    if (request.hello.resume !== undefined) grant.reason = 'unknown';
    return grant;
  }

  detach(session: Session): void {
    this.live.delete(session.id);
  }

  get size(): number {
    return this.live.size;
  }
}
