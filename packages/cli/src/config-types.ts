import { SERVER_DEFAULTS, STORE_DEFAULTS } from '@tether/server';

/**
 * Who may publish to or subscribe to the topics of a namespace, from a client:
 * - `anyone`: every connection, also anonymous ones;
 * - `authenticated`: connections with a verified token (every connection in insecure
 *   mode), restricted further by the token's `topics` claim when it has one; a token
 *   without one gets only its own `{sub}` namespaces unless `auth.topicsClaim` is
 *   `optional`;
 * - `none`: no client (the HTTP API and the server's own code still can).
 */
export type TopicPermission = 'anyone' | 'authenticated' | 'none';

/**
 * The rule of one topic namespace (`"demo:*"`, `"*"`, an exact topic name, or a per-user
 * pattern such as `"user:{sub}"`). A topic no namespace matches is refused.
 */
export interface TopicRule {
  publish: TopicPermission;
  subscribe: TopicPermission;
  /**
   * History bounds of the namespace's topics, overriding the hub-wide `history`
   * (an absent field keeps the hub-wide bound). Absent: the hub-wide bounds.
   */
  history?: TopicHistoryRule;
}

/** Per-namespace history bounds (`topics["demo:*"].history`). */
export interface TopicHistoryRule {
  /** Publications kept per topic (≥ 0). */
  maxCount?: number;
  /** Age in ms after which a publication is trimmed (≥ 1). */
  maxAgeMs?: number;
}

/** JWT algorithms the hub verifies: HMAC with a shared secret, or a public key. */
export type JwtAlgorithm =
  | 'HS256'
  | 'HS384'
  | 'HS512'
  | 'RS256'
  | 'RS384'
  | 'RS512'
  | 'PS256'
  | 'PS384'
  | 'PS512'
  | 'ES256'
  | 'ES384'
  | 'ES512'
  | 'EdDSA';

/** How clients authenticate. */
export type AuthConfig =
  | {
      /** Insecure development mode: everyone connects and counts as authenticated. */
      mode: 'none';
    }
  | {
      /** The backend's connect hook decides (`backend.events` has `connect`; docs/backend.md). */
      mode: 'backend';
    }
  | {
      mode: 'jwt';
      /** HMAC secret (HS256/384/512). Exactly one of `secret` and `publicKey`. */
      secret: string | undefined;
      /** SPKI PEM public key (RS*, PS*, ES*, EdDSA), the PEM text itself. */
      publicKey: string | undefined;
      algorithm: JwtAlgorithm;
      /** Required `iss`, if set. */
      issuer: string | undefined;
      /** Required `aud`, if set. */
      audience: string | undefined;
      /** Accepted clock skew for `exp` and `nbf`, ms. */
      clockToleranceMs: number;
      /** Accept connections without a token as anonymous (they get `anyone` topics only). */
      anonymous: boolean;
      /** Refuse tokens without `exp` (4001). */
      requireExp: boolean;
      /** Refuse tokens that live longer than this, ms (`exp - iat`, or `exp - now`). */
      maxTokenLifetimeMs: number;
      /**
       * `required`: a token without a `topics` claim uses only `anyone` and its own
       * `{sub}` topics; `optional`: every `authenticated` namespace.
       */
      topicsClaim: 'required' | 'optional';
    };

/** Events the hub forwards to the application's backend (docs/backend.md). */
export type BackendEvent =
  | 'message'
  | 'request'
  | 'connect'
  | 'publish'
  | 'subscribe'
  | 'disconnect';

/** The application's backend: where the hub forwards client events over HTTP. */
export interface BackendConfig {
  /** Base URL (`http://127.0.0.1:8000`); undefined: no backend. */
  url: string | undefined;
  /** HMAC-SHA256 key that signs every request (`X-Tether-Signature`); undefined: unsigned. */
  secret: string | undefined;
  /** Events forwarded. */
  events: BackendEvent[];
  /** Path of each event, appended to `url`. */
  paths: Record<BackendEvent, string>;
  /** Deadline of one HTTP request to the backend, ms. */
  timeoutMs: number;
  /** HTTP requests to the backend in flight at once, for the whole hub. */
  concurrency: number;
  /** Retry backoff of messages (full jitter, doubling): first and largest delay, ms. */
  retry: { minDelayMs: number; maxDelayMs: number };
}

/** Log levels of the hub's pino logger. */
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** The hub's configuration with every default applied and every value checked. */
export interface HubConfig {
  port: number;
  host: string;
  /** `memory` or `sqlite:PATH`. */
  store: 'memory' | `sqlite:${string}`;
  heartbeat: { intervalMs: number; timeoutMs: number };
  /** How long a session survives a disconnect. */
  resumeWindowMs: number;
  /** Upgrade-to-hello deadline. */
  handshakeTimeoutMs: number;
  /** Graceful shutdown: how long clients get before the rest are cut. */
  drainTimeoutMs: number;
  limits: {
    maxMessageBytes: number;
    maxConnectionsPerIp: number;
    /** Per-connection rate limit, or `false` for none. */
    rate: { perSecond: number; burst: number } | false;
    slowConsumerBytes: number;
    /** Sessions one user may hold (connected or resumable); the oldest is evicted. */
    maxSessionsPerUser: number;
    /** Requests of one connection waiting for an answer; more get TOO_MANY_REQUESTS. */
    maxPendingRequests: number;
    /** Largest HTTP API request body. */
    maxBodyBytes: number;
    /** Time to send complete HTTP request headers (408 after it). */
    headersTimeoutMs: number;
    /** Time to send a whole HTTP request (408 after it); at least `headersTimeoutMs`. */
    requestTimeoutMs: number;
  };
  /** Topic history retention (the store's bounds). */
  history: { maxCount: number; maxAgeMs: number };
  /** Topic namespaces by pattern. */
  topics: Record<string, TopicRule>;
  auth: AuthConfig;
  api: {
    /** Key of `/api/*`; without it the API refuses every call. */
    key: string | undefined;
    /** Key of `/admin/*`; without it the admin endpoints refuse every call. */
    adminKey: string | undefined;
    /** Key of `/stats`, `/metrics` and `/dashboard` (see {@link HubConfig.ops}). */
    opsKey: string | undefined;
  };
  /**
   * Operations endpoints (`/stats`, `/metrics`, `/dashboard`). They need the ops key on a
   * non-loopback host or once auth or any key is configured, unless `public` is true
   * (announced with a warning at start). `/healthz` and `/readyz` are always open.
   */
  ops: { public: boolean };
  /** Allowed `Origin`s of browser clients; undefined allows any. */
  origins: string[] | undefined;
  /**
   * The proxies you run (addresses and CIDR ranges): behind them the client IP is the
   * rightmost `X-Forwarded-For` entry that is not one of them. Empty: the socket's address.
   */
  trustProxy: string[];
  log: { level: LogLevel };
  /** Serve the dashboard at /dashboard. */
  dashboard: boolean;
  /** Serve the demo page at / and the browser client at /tether-client.js. */
  demo: boolean;
  /** The application's backend (docs/backend.md). */
  backend: BackendConfig;
}

/**
 * Defaults of `tether serve`. Durable by default (SQLite in ./data); reachable from this
 * machine only (127.0.0.1) until `--host` says otherwise; authenticated by default (JWT):
 * without a secret or public key the hub starts with auth off (announced) only on a
 * loopback host, and elsewhere refuses until one is configured or `--insecure` is
 * given. Reasons for each value: docs/configuration.md.
 */
export const HUB_DEFAULTS = {
  port: 8080,
  host: '127.0.0.1',
  store: 'sqlite:./data/tether.db',
  heartbeatIntervalMs: SERVER_DEFAULTS.heartbeatIntervalMs,
  heartbeatTimeoutMs: SERVER_DEFAULTS.heartbeatTimeoutMs,
  resumeWindowMs: SERVER_DEFAULTS.resumeWindowMs,
  handshakeTimeoutMs: SERVER_DEFAULTS.handshakeTimeoutMs,
  drainTimeoutMs: SERVER_DEFAULTS.drainTimeoutMs,
  maxMessageBytes: SERVER_DEFAULTS.maxMessageBytes,
  maxConnectionsPerIp: SERVER_DEFAULTS.maxConnectionsPerIp,
  ratePerSecond: SERVER_DEFAULTS.ratePerSecond,
  rateBurst: SERVER_DEFAULTS.rateBurst,
  slowConsumerBytes: SERVER_DEFAULTS.slowConsumerBytes,
  maxSessionsPerUser: SERVER_DEFAULTS.maxSessionsPerUser,
  maxPendingRequests: SERVER_DEFAULTS.maxPendingRequests,
  /** 1 MiB: a publish body carries one message (≤ 64 KiB by default) plus JSON overhead; more is a mistake or abuse. */
  maxBodyBytes: 1024 * 1024,
  headersTimeoutMs: SERVER_DEFAULTS.headersTimeoutMs,
  requestTimeoutMs: SERVER_DEFAULTS.requestTimeoutMs,
  historyMaxCount: STORE_DEFAULTS.historyMaxCount,
  historyMaxAgeMs: STORE_DEFAULTS.historyMaxAgeMs,
  authMode: 'jwt',
  /** 5 s of clock skew between the token issuer and the hub. */
  clockToleranceMs: 5_000,
  /**
   * Tokens must carry `exp`: a token without one would authenticate forever, and an open
   * connection could never be asked to refresh. Off only for development.
   */
  requireExp: true,
  /**
   * 24 h: the longest a token may live (`exp - iat`, or `exp - now` without `iat`). A day
   * covers a working session of a device or tab that refreshes rarely, while a leaked
   * token still dies the same day; issuers of short tokens lose nothing by it.
   */
  maxTokenLifetimeMs: 86_400_000,
  logLevel: 'info',
  /** Tokens without a `topics` claim get their own `{sub}` topics only: claims fail closed. */
  topicsClaim: 'required',
  /**
   * The demo page chats on `demo:chat`: the namespace is open to every connection of an
   * insecure hub, and to tokens whose `topics` claim lists it. Topics outside every
   * namespace are refused.
   */
  topics: { 'demo:*': { publish: 'authenticated', subscribe: 'authenticated' } },
  /** Messages and requests: what a backend is for; the rest are asked for by name. */
  backendEvents: ['message', 'request'],
  backendPaths: {
    message: '/tether/message',
    request: '/tether/request',
    connect: '/tether/connect',
    publish: '/tether/publish',
    subscribe: '/tether/subscribe',
    disconnect: '/tether/disconnect',
  },
  /** 10 s: a backend slower than that is treated as down for this attempt (retried for messages). */
  backendTimeoutMs: 10_000,
  /**
   * 64 requests in flight to the backend for the whole hub: a busy backend gets a bounded
   * load (messages of one session go one at a time anyway); the rest wait their turn.
   */
  backendConcurrency: 64,
  /** Retries of messages: full jitter from 200 ms, doubling, at most 10 s apart. */
  backendRetryMinDelayMs: 200,
  backendRetryMaxDelayMs: 10_000,
} as const;
