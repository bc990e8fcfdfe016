import { type AuthFrame, CloseCode, ErrorCode } from '@tether/protocol';
import { runAuthenticate } from './auth.js';
import type { Connection } from './connection.js';
import { errorFrame } from './frame-errors.js';
import type { RouterContext } from './router-context.js';

/**
 * An `auth` frame: a fresh token for the open connection. The endpoint's `authenticate`
 * hook checks it as it checked the upgrade's (with `refresh: true`); the identity must
 * name the same user, or the connection is closed with 4001. Accepted: the new expiry
 * and claims replace the old ones and `authed` answers. Refused: AUTH_FAILED, and the old
 * expiry stands (4002 when it passes). Only the newest `auth` frame's answer counts.
 */
export function onAuth(ctx: RouterContext, conn: Connection, frame: AuthFrame): void {
  const hook = ctx.options.authenticate;
  const credentials = conn.credentials;
  const request = credentials?.request;
  if (hook === undefined || credentials === undefined || request === undefined) {
    conn.sendError(
      errorFrame(
        ErrorCode.AUTH_FAILED,
        hook === undefined
          ? 'this endpoint checks no tokens'
          : "this connection's credentials do not expire; there is nothing to refresh",
        { t: 'auth' },
      ),
    );
    return;
  }
  const attempt = credentials.nextAttempt();
  runAuthenticate(
    hook,
    {
      request,
      token: frame.token,
      ip: conn.ip,
      origin: request.headers.origin,
      path: conn.path,
      refresh: true,
    },
    ctx.logger,
    () => ctx.clock.now(),
    (outcome) => {
      if (!credentials.isLatest(attempt) || conn.state !== 'open') return;
      if (!outcome.ok) {
        const internal = outcome.code === CloseCode.INTERNAL_ERROR;
        conn.sendError(
          errorFrame(
            internal ? ErrorCode.INTERNAL : ErrorCode.AUTH_FAILED,
            internal ? 'the server could not check the token' : outcome.reason,
            { t: 'auth' },
          ),
        );
        return;
      }
      if (outcome.user !== conn.user) {
        ctx.logger.info(
          { cid: conn.id, user: conn.user, ip: conn.ip },
          'refreshed token names another user, closing',
        );
        conn.closeWith(CloseCode.UNAUTHORIZED, 'the refreshed token names another user');
        return;
      }
      conn.refreshed(outcome.data, outcome.expiresAt);
      conn.enqueue(
        outcome.expiresAt === undefined
          ? { t: 'authed' }
          : { t: 'authed', exp: Math.floor(outcome.expiresAt) },
      );
    },
  );
}
