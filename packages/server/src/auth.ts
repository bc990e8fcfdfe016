import type { IncomingMessage } from 'node:http';
import { CloseCode, type Json } from '@tether/protocol';
import { AuthError } from './errors.js';
import { requestToken } from './handshake.js';
import type { Logger } from './logger.js';
import type { AuthContext, AuthResult } from './options.js';
import type { RefusalReason } from './stats.js';

/** What the `authenticate` hook decided about one upgrade. */
export type AuthOutcome =
  | { ok: true; user: string | undefined; data: Readonly<Record<string, Json>> | undefined }
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
  settle: (outcome: AuthOutcome) => void,
): void {
  const context: AuthContext = {
    request: input.request,
    token: requestToken(input.request, input.offered),
    ip: input.ip,
    origin: input.origin,
    path: input.path,
  };
  let result: AuthResult | Promise<AuthResult>;
  try {
    result = hook(context);
  } catch (err) {
    settle(fromError(err, logger));
    return;
  }
  if (
    result !== null &&
    typeof result === 'object' &&
    typeof (result as { then?: unknown }).then === 'function'
  ) {
    Promise.resolve(result).then(
      (value) => settle(fromResult(value, logger)),
      (err: unknown) => settle(fromError(err, logger)),
    );
    return;
  }
  settle(fromResult(result as AuthResult, logger));
}

function fromResult(result: AuthResult, logger: Logger): AuthOutcome {
  if (result === true) return { ok: true, user: undefined, data: undefined };
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
    const data = result.data;
    if (data === undefined || (typeof data === 'object' && data !== null)) {
      return { ok: true, user: result.user, data };
    }
  }
  logger.error({}, 'authenticate returned neither a boolean nor { user?: string, data?: object }');
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
