import type { IncomingMessage } from 'node:http';
import { CloseCode, type Json } from '@tether/protocol';
import { AuthError } from './errors.js';
import { requestToken } from './handshake.js';
import type { Logger } from './logger.js';
import type { AuthContext, AuthResult } from './options.js';
import type { RefusalReason } from './stats.js';

/** What the `authenticate` hook decided about one upgrade. */
export type AuthOutcome =
  | {
      ok: true;
      user: string | undefined;
      data: Readonly<Record<string, Json>> | undefined;
      /** When the credentials expire (wall-clock ms); undefined when they do not. */
      expiresAt: number | undefined;
      /** Data for the client's `welcome`. */
      welcome?: Readonly<Record<string, Json>>;
    }
  | { ok: false; code: number; reason: string; counter: RefusalReason };

/** The upgrade as the hook will see it. */
export interface AuthInput {
  request: IncomingMessage;
  offered: readonly string[];
  ip: string;
  origin: string | undefined;
  path: string;
}

/**
 * Runs the `authenticate` hook for one upgrade and reports the outcome once to `settle`
 * (synchronously when the hook answers synchronously). Refusals are delivered after
 * the upgrade as goodbye + 4001/4003, because browsers cannot read the HTTP status of a
 * failed upgrade. A hook that throws something other than an `AuthError` is a fault:
 * logged at error, the client gets 1011.
 */
export function authenticateUpgrade(
  hook: (context: AuthContext) => AuthResult | Promise<AuthResult>,
  input: AuthInput,
  logger: Logger,
  now: () => number,
  settle: (outcome: AuthOutcome) => void,
): void {
  const context: AuthContext = {
    request: input.request,
    token: requestToken(input.request, input.offered),
    ip: input.ip,
    origin: input.origin,
    path: input.path,
  };
  runAuthenticate(hook, context, logger, now, settle);
}

/**
 * Runs the hook with `context` and reports the outcome once to `settle` (synchronously
 * when the hook answers synchronously): for an upgrade, and for the token of an `auth`
 * frame on an open connection. An identity whose `expiresAt` has passed (by `now()`) is
 * refused as an expired token.
 */
export function runAuthenticate(
  hook: (context: AuthContext) => AuthResult | Promise<AuthResult>,
  context: AuthContext,
  logger: Logger,
  now: () => number,
  settle: (outcome: AuthOutcome) => void,
): void {
  let result: AuthResult | Promise<AuthResult>;
  try {
    result = hook(context);
  } catch (err) {
    settle(fromError(err, logger));
    return;
  }
  const finish = (value: AuthResult): void => settle(notExpired(fromResult(value, logger), now()));
  if (
    result !== null &&
    typeof result === 'object' &&
    typeof (result as { then?: unknown }).then === 'function'
  ) {
    Promise.resolve(result).then(
      (value: AuthResult) => finish(value),
      (err: unknown) => settle(fromError(err, logger)),
    );
    return;
  }
  finish(result as AuthResult);
}

function notExpired(outcome: AuthOutcome, now: number): AuthOutcome {
  if (!outcome.ok || outcome.expiresAt === undefined || outcome.expiresAt > now) return outcome;
  return {
    ok: false,
    code: CloseCode.UNAUTHORIZED,
    reason: 'token expired',
    counter: 'unauthorized',
  };
}

function fromResult(result: AuthResult, logger: Logger): AuthOutcome {
  if (result === true) return { ok: true, user: undefined, data: undefined, expiresAt: undefined };
  if (result === false || result === null || result === undefined) {
    return {
      ok: false,
      code: CloseCode.UNAUTHORIZED,
      reason: 'unauthorized',
      counter: 'unauthorized',
    };
  }
  if (
    typeof result === 'object' &&
    (result.user === undefined || typeof result.user === 'string')
  ) {
    const { data, expiresAt, welcome } = result;
    if (
      (data === undefined || (typeof data === 'object' && data !== null)) &&
      (welcome === undefined ||
        (typeof welcome === 'object' && welcome !== null && !Array.isArray(welcome))) &&
      (expiresAt === undefined || Number.isFinite(expiresAt))
    ) {
      return welcome === undefined
        ? { ok: true, user: result.user, data, expiresAt }
        : { ok: true, user: result.user, data, expiresAt, welcome };
    }
  }
  logger.error(
    {},
    'authenticate returned neither a boolean nor { user?: string, data?: object, expiresAt?: number, welcome?: object }',
  );
  return {
    ok: false,
    code: CloseCode.INTERNAL_ERROR,
    reason: 'authentication failed',
    counter: 'authFailed',
  };
}

function fromError(err: unknown, logger: Logger): AuthOutcome {
  if (err instanceof AuthError) {
    return {
      ok: false,
      code: err.closeCode,
      reason: err.message,
      counter: err.closeCode === CloseCode.FORBIDDEN ? 'forbidden' : 'unauthorized',
    };
  }
  logger.error(
    { err: err instanceof Error ? err.message : String(err) },
    'authenticate hook failed',
  );
  return {
    ok: false,
    code: CloseCode.INTERNAL_ERROR,
    reason: 'authentication failed',
    counter: 'authFailed',
  };
}
