import type { Json } from '@tether/protocol';
import { type AuthContext, AuthError, type AuthIdentity } from '@tether/server';
import { errors, importSPKI, type JWTPayload, jwtVerify } from 'jose';
import { ConfigError } from './config.js';
import type { AuthConfig } from './config-types.js';
import { isTopicPattern } from './config-values.js';
import type { ConnectionAuth } from './topic-access.js';

/** The hub's `authenticate` hook. */
export type Authenticate = (context: AuthContext) => Promise<AuthIdentity>;

/** Told about every refused token (for the dashboard's errors and the logs). */
export type AuthRefusalListener = (reason: string, context: AuthContext) => void;

/**
 * Builds the `authenticate` hook of `auth`: in `none` mode everyone gets in (as
 * `insecure`); in `jwt` mode the token (Authorization: Bearer, `?token=`, or the
 * `tether.auth.*` subprotocol) must verify with the secret or public key, and carry a
 * `sub` (the user id), an `exp` (unless `requireExp` is off) no further than
 * `maxTokenLifetimeMs` from its `iat` (or from now), and optionally a `topics` claim. A
 * refusal closes the connection with 4001 and a reason that names the problem (`token
 * expired`, `token signature invalid`, ...). An accepted token's `exp` plus the clock
 * tolerance becomes the connection's `expiresAt`: the server asks for a fresh token before
 * it and closes with 4002 after it. The same hook checks the token of an `auth` frame on
 * an open connection. The key is imported now, so a bad key fails at start.
 */
export async function createAuthenticate(
  auth: Exclude<AuthConfig, { mode: 'backend' }>,
  onRefusal: AuthRefusalListener = () => {},
): Promise<Authenticate> {
  if (auth.mode === 'none') {
    const identity: AuthIdentity = { data: { auth: 'insecure' } satisfies ConnectionAuth };
    return async () => identity;
  }
  let key: Uint8Array | CryptoKey;
  if (auth.secret !== undefined) key = new TextEncoder().encode(auth.secret);
  else {
    try {
      key = await importSPKI(auth.publicKey as string, auth.algorithm);
    } catch (err) {
      throw new ConfigError(
        `auth.publicKey: not a usable ${auth.algorithm} public key (expected an SPKI PEM "-----BEGIN PUBLIC KEY-----"): ${(err as Error).message}`,
      );
    }
  }
  const verifyOptions = {
    algorithms: [auth.algorithm],
    clockTolerance: Math.round(auth.clockToleranceMs / 1000),
    ...(auth.issuer === undefined ? {} : { issuer: auth.issuer }),
    ...(auth.audience === undefined ? {} : { audience: auth.audience }),
  };
  const refuse = (reason: string, context: AuthContext): never => {
    onRefusal(reason, context);
    throw new AuthError('unauthorized', reason);
  };

  return async (context): Promise<AuthIdentity> => {
    const token = context.token;
    if (token === undefined || token === '') {
      if (auth.anonymous) return { data: { auth: 'anonymous' } satisfies ConnectionAuth };
      return refuse(
        'missing token (send it as Authorization: Bearer, ?token= or the tether.auth subprotocol)',
        context,
      );
    }
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, key, verifyOptions));
    } catch (err) {
      return refuse(tokenProblem(err), context);
    }
    if (typeof payload.sub !== 'string' || payload.sub === '') {
      return refuse('token has no "sub" claim (the user id)', context);
    }
    const lifetime = lifetimeProblem(payload, auth);
    if (lifetime !== undefined) return refuse(lifetime, context);
    // jose accepted the token up to exp + tolerance; the connection lives as long.
    const expiry =
      payload.exp === undefined ? {} : { expiresAt: payload.exp * 1000 + auth.clockToleranceMs };
    const topics = payload.topics;
    if (topics === undefined) {
      return { user: payload.sub, data: { auth: 'jwt' } satisfies ConnectionAuth, ...expiry };
    }
    const claims = topicClaims(topics);
    if (claims === undefined) {
      return refuse(
        'token claim "topics" must be { "publish": [patterns], "subscribe": [patterns] }',
        context,
      );
    }
    const topicsData: Record<string, Json> = {};
    if (claims.publish !== undefined) topicsData.publish = claims.publish;
    if (claims.subscribe !== undefined) topicsData.subscribe = claims.subscribe;
    return { user: payload.sub, data: { auth: 'jwt', topics: topicsData }, ...expiry };
  };
}

/** Why a verified token's lifetime is refused (`requireExp`, `maxTokenLifetimeMs`), if it is. */
function lifetimeProblem(
  payload: JWTPayload,
  auth: Extract<AuthConfig, { mode: 'jwt' }>,
): string | undefined {
  if (payload.exp === undefined) {
    return auth.requireExp ? 'token has no "exp" claim (required: auth.requireExp)' : undefined;
  }
  // jose checked that exp and iat are numbers; without iat the lifetime left is measured.
  const from = payload.iat ?? Date.now() / 1000;
  if ((payload.exp - from) * 1000 > auth.maxTokenLifetimeMs) {
    return `token lifetime exceeds auth.maxTokenLifetimeMs (${lifetimeText(auth.maxTokenLifetimeMs)})`;
  }
  return undefined;
}

/** A token problem in words that fit a close reason (≤ 123 bytes). */
function tokenProblem(err: unknown): string {
  if (err instanceof errors.JWTExpired) return 'token expired';
  if (err instanceof errors.JWTClaimValidationFailed) {
    return `token claim "${err.claim}" invalid: ${err.reason}`.slice(0, 120);
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'token signature invalid';
  if (err instanceof errors.JOSEAlgNotAllowed) return 'token algorithm not allowed';
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid) {
    return 'malformed token (not a signed JWT)';
  }
  if (err instanceof errors.JOSENotSupported) return 'token uses an unsupported algorithm';
  return 'token rejected';
}

function topicClaims(value: unknown): { publish?: string[]; subscribe?: string[] } | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const claims: { publish?: string[]; subscribe?: string[] } = {};
  for (const [key, list] of Object.entries(value)) {
    if (key !== 'publish' && key !== 'subscribe') return undefined;
    if (!Array.isArray(list) || !list.every((p) => typeof p === 'string' && isTopicPattern(p))) {
      return undefined;
    }
    claims[key] = list as string[];
  }
  return claims;
}

/** A lifetime as configured: `24h`, `90m`, `45s`, else milliseconds. */
function lifetimeText(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
