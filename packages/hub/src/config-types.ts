import { HUB_SCHEMA, type HubSettings } from './config-schema.js';

/**
 * The types of the hub's configuration, all inferred from the schema (config-schema.ts),
 * except for `auth`, whose algorithm and mode are settled by the resolver.
 */

/**
 * Who may publish to or subscribe to the topics of a namespace, from a client:
 * - `anyone`: every connection, also anonymous ones;
 * - `authenticated`: connections with a verified token (every connection in insecure
 *   mode), restricted further by the token's `topics` claim when it has one; a token
 *   without one gets only its own `{sub}` namespaces unless `auth.topicsClaim` is
 *   `optional`;
 * - `none`: no client (the HTTP API and the server's own code still can).
 */
export type TopicPermission = TopicRule['publish'];

/**
 * The rule of one topic namespace (`"demo:*"`, `"*"`, an exact topic name, or a per-user
 * pattern such as `"user:{sub}"`). A topic no namespace matches is refused. `history`
 * overrides the hub-wide bounds (an absent field keeps the hub-wide bound).
 */
export type TopicRule = HubSettings['topics'][string];

/** Per-namespace history bounds (`topics["demo:*"].history`). */
export type TopicHistoryRule = NonNullable<TopicRule['history']>;

type AuthSettings = HubSettings['auth'];

/** JWT algorithms the hub verifies: HMAC with a shared secret, or a public key. */
export type JwtAlgorithm = NonNullable<AuthSettings['algorithm']>;

/** The application's backend: where the hub forwards client events over HTTP. */
export type BackendConfig = HubSettings['backend'];

/** Events the hub forwards to the application's backend (docs/backend.md). */
export type BackendEvent = BackendConfig['events'][number];

/** Log levels of the hub's pino logger. */
export type LogLevel = HubSettings['log']['level'];

/**
 * How clients authenticate: `none` (insecure development mode), `backend` (the backend's
 * connect hook decides: `backend.events` has `connect`; docs/backend.md) or JWT.
 */
export type AuthConfig =
  | { mode: 'none' }
  | { mode: 'backend' }
  | ({ mode: 'jwt'; algorithm: JwtAlgorithm } & {
      [K in 'secret' | 'publicKey' | 'issuer' | 'audience']: AuthSettings[K];
    } & Omit<AuthSettings, 'mode' | 'algorithm' | 'secret' | 'publicKey' | 'issuer' | 'audience'>);

/** The hub's configuration with every default applied and every value checked. */
export type HubConfig = Omit<HubSettings, '$schema' | 'auth' | 'api' | 'origins' | 'workers'> & {
  auth: AuthConfig;
  /** Hub processes on the port: 1, or more with a Redis store (the default: one per core). */
  workers: number;
  /** Keys of `/api/*`, `/admin/*` and the ops endpoints; undefined = that part is closed. */
  api: { key: string | undefined; adminKey: string | undefined; opsKey: string | undefined };
  /** Allowed `Origin`s of browser clients; undefined allows any. */
  origins: string[] | undefined;
};

/** The defaults of `tether serve`, as the schema gives them (docs/configuration.md says why). */
export const HUB_DEFAULTS: HubSettings = HUB_SCHEMA.parse({});
