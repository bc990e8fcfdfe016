import type { IncomingMessage } from 'node:http';
import type { Json } from '@tether/protocol';
import type { ConnectionIdentity } from './connection-host.js';
import { refreshAtFor } from './token-expiry.js';

/** The parts of a connection's identity its credentials keep (any may be absent). */
type CredentialParts = Partial<
  Pick<ConnectionIdentity, 'user' | 'request' | 'data' | 'welcome' | 'expiresAt'>
>;

/**
 * What a connection's token said and how long it holds: the user, the claims, the data
 * for the client's `welcome`, the expiry, when to ask for a fresh token, and the
 * numbering of `auth` frames (the answer of an older one does nothing).
 *
 * Built only for a connection that has any of it (a user, claims, welcome data, an
 * expiring token): most connections of an app without tokens never need one.
 */
export class ConnectionCredentials {
  private claims: Readonly<Record<string, Json>> | undefined;
  private expires: number | undefined = undefined;
  private refreshDue: number | undefined = undefined;
  private attempts = 0;

  /** The user the `authenticate` hook named (a refreshed token must name the same). */
  readonly user: string | undefined;
  /** The upgrade request, for the hook on a refresh (kept only for expiring tokens). */
  readonly request: IncomingMessage | undefined;
  /** Data for the client's `welcome` (the `welcome` of `authenticate`). */
  readonly welcome: Readonly<Record<string, Json>> | undefined;

  /** Credentials for `identity`, or undefined when it has none of them (no token). */
  static of(identity: CredentialParts): ConnectionCredentials | undefined {
    const { user, request, data, welcome, expiresAt } = identity;
    const none = [user, request, data, welcome, expiresAt].every((v) => v === undefined);
    return none ? undefined : new ConnectionCredentials(identity);
  }

  constructor(identity: CredentialParts) {
    this.user = identity.user;
    this.request = identity.request;
    this.claims = identity.data;
    this.welcome = identity.welcome;
  }

  get data(): Readonly<Record<string, Json>> | undefined {
    return this.claims;
  }

  /** When the token expires (wall-clock ms); undefined when it does not. */
  get expiresAt(): number | undefined {
    return this.expires;
  }

  /** When to send `refresh`; undefined once sent. */
  get refreshAt(): number | undefined {
    return this.refreshDue;
  }

  /**
   * The token expires at `expiresAt`: a refresh is due `refreshLeadMs` before (see
   * {@link refreshAtFor}; `now`: wall-clock ms).
   */
  expireAt(expiresAt: number | undefined, now: number, refreshLeadMs: number): void {
    this.expires = expiresAt;
    this.refreshDue =
      expiresAt === undefined ? undefined : refreshAtFor(expiresAt, now, refreshLeadMs);
  }

  /** A refreshed token was accepted: its claims replace the old ones. */
  replaceClaims(data: Readonly<Record<string, Json>> | undefined): void {
    this.claims = data;
  }

  /** The `refresh` frame is going out (once per token): nothing more is due until a new expiry. */
  refreshSent(): void {
    this.refreshDue = undefined;
  }

  /** Numbers a new `auth` frame. */
  nextAttempt(): number {
    this.attempts += 1;
    return this.attempts;
  }

  /** Whether `attempt` is still the latest `auth` frame. */
  isLatest(attempt: number): boolean {
    return attempt === this.attempts;
  }
}
