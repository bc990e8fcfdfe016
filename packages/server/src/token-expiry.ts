import { type Clock, Timer } from '@tether/common';

/**
 * Shortest gap between two passes: a crowd of tokens expiring a few ms apart is handled
 * in one pass instead of one timer each. A deadline is acted on at most this late, well
 * inside the second the protocol promises for the 4002 close.
 */
export const EXPIRY_PASS_GAP_MS = 250;
/**
 * Longest a pass waits even when the next deadline is later: expiries are wall-clock
 * times while timers run on the monotonic clock, so a wall-clock step (NTP, a resumed VM)
 * is noticed within this.
 */
const MAX_WAIT_MS = 60_000;

/** The token fields of a connection that the watch reads (wall-clock ms). */
export interface ExpiringSubject {
  readonly state: string;
  /** When the connection's token expires; undefined when it does not. */
  readonly tokenExpiresAt: number | undefined;
  /** When to send `refresh`; undefined once it was sent (or without expiry). */
  readonly refreshAt: number | undefined;
}

/** What a connection's token needs now. */
export type ExpiryAction = 'none' | 'refresh' | 'expire';

/**
 * When to ask for a fresh token that expires at `expiresAt`, given at `now`: `leadMs`
 * before the expiry, but never before half the remaining lifetime, so a short token is
 * not asked for a new one as soon as it arrives (a 5 s token is asked after 2.5 s).
 */
export function refreshAtFor(expiresAt: number, now: number, leadMs: number): number {
  const remaining = Math.max(0, expiresAt - now);
  return expiresAt - Math.min(leadMs, Math.floor(remaining / 2));
}

/** Decides, at wall-clock `now`, what a connection's token needs. Pure. */
export function expiryAction(subject: ExpiringSubject, now: number): ExpiryAction {
  if (subject.state !== 'open' || subject.tokenExpiresAt === undefined) return 'none';
  if (now >= subject.tokenExpiresAt) return 'expire';
  if (subject.refreshAt !== undefined && now >= subject.refreshAt) return 'refresh';
  return 'none';
}

function nextDeadline(subject: ExpiringSubject): number | undefined {
  if (subject.tokenExpiresAt === undefined) return undefined;
  return subject.refreshAt ?? subject.tokenExpiresAt;
}

/**
 * ONE timer for the token deadlines of every connection of an endpoint (no timer per
 * connection): it is armed for the earliest deadline, and each pass acts on every due
 * connection with {@link expiryAction}, then re-arms for the next. Idle (no connection
 * with an expiry) it holds no timer. Passes are at least {@link EXPIRY_PASS_GAP_MS} apart.
 */
export class TokenExpiryWatch<S extends ExpiringSubject> {
  private readonly members = new Set<S>();
  private readonly timer: Timer;
  private armedAt: number | undefined;
  private lastPassAt: number | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly act: (subject: S, action: Exclude<ExpiryAction, 'none'>) => void,
  ) {
    this.timer = new Timer('tether.token-expiry', clock);
  }

  /** Watches `subject` (again, after its deadlines changed); forgets it when it has none. */
  track(subject: S): void {
    const deadline = nextDeadline(subject);
    if (deadline === undefined) {
      this.members.delete(subject);
      return;
    }
    this.members.add(subject);
    this.arm(deadline);
  }

  untrack(subject: S): void {
    this.members.delete(subject);
    if (this.members.size === 0) this.stop();
  }

  get size(): number {
    return this.members.size;
  }

  stop(): void {
    this.timer.clear();
    this.armedAt = undefined;
  }

  private arm(deadline: number): void {
    const now = this.clock.now();
    const earliest = this.lastPassAt === undefined ? now : this.lastPassAt + EXPIRY_PASS_GAP_MS;
    const at = Math.min(Math.max(deadline, earliest), now + MAX_WAIT_MS);
    if (this.armedAt !== undefined && this.timer.active && this.armedAt <= at) return;
    this.armedAt = at;
    this.timer.start(Math.max(0, at - now), () => this.pass());
  }

  private pass(): void {
    this.armedAt = undefined;
    const now = this.clock.now();
    this.lastPassAt = now;
    let next: number | undefined;
    for (const subject of this.members) {
      const action = expiryAction(subject, now);
      if (action !== 'none') this.act(subject, action);
      // A connection that is closing needs nothing more; its close untracks it anyway.
      const deadline =
        this.members.has(subject) && subject.state === 'open' ? nextDeadline(subject) : undefined;
      if (deadline === undefined) this.members.delete(subject);
      else if (next === undefined || deadline < next) next = deadline;
    }
    if (next !== undefined) this.arm(next);
  }
}
