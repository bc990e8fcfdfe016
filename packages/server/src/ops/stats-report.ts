import type { ConnectionState } from '../connection-types.js';
import type { StoreStats } from '../store/store.js';
import type { TopicStats } from '../topics.js';
import type { RttPercentiles } from './rtt-window.js';

/**
 * The JSON of `GET /stats`: what the dashboard draws and what an operator reads when
 * Prometheus is not at hand. Rates are per second over the last sample interval.
 */
export interface StatsReport {
  /** Wall-clock ms of the report. */
  time: number;
  startedAt: number;
  uptimeMs: number;
  state: 'running' | 'draining' | 'closed';
  /** Sample interval of the rates and the history, ms. */
  intervalMs: number;
  connections: {
    /** Open sockets, any state. */
    total: number;
    /** Welcomed and open. */
    ready: number;
    byEndpoint: Array<{ path: string; connections: number; ready: number }>;
  };
  /** The client addresses holding the most connections. */
  topIps: Array<{ ip: string; connections: number }>;
  rates: StatsRates;
  totals: StatsTotals;
  rtt: {
    /** Over every measurement of the last `rttWindowMs`. */
    window: RttPercentiles;
    /** Over the latest measurement of each open connection. */
    current: RttPercentiles;
  };
  resumes: { ok: number; failed: Record<string, number> };
  /** Closes since start by code, with the close-code table's name. */
  closeCodes: Array<{ code: number; name: string; count: number }>;
  topics: TopicStats;
  /** The store's counters, sampled each interval; absent without a store. */
  store?: StoreStats;
  /** One point per interval, oldest first (see `?since=`). */
  history: StatsPoint[];
  /** The least healthy connections first (see `?connections=`). */
  connectionList: ConnectionRow[];
  /** Whether more connections exist than `connectionList` shows. */
  connectionListTruncated: boolean;
  /** The most recent errors, newest first. */
  errors: RecentError[];
}

/** Per-second rates over the last sample interval. */
export interface StatsRates {
  messagesIn: number;
  messagesOut: number;
  bytesIn: number;
  bytesOut: number;
  connects: number;
  disconnects: number;
}

/** Counters since start, all endpoints together. */
export interface StatsTotals {
  accepted: number;
  refused: Record<string, number>;
  messagesIn: number;
  messagesOut: number;
  bytesIn: number;
  bytesOut: number;
  heartbeatTimeouts: number;
  handshakeTimeouts: number;
  slowConsumers: number;
  rateLimited: number;
  errorFrames: number;
  replayed: number;
  duplicates: number;
}

/** One point of the dashboard's time series. */
export interface StatsPoint {
  /** Wall-clock ms. */
  t: number;
  connections: number;
  messagesIn: number;
  messagesOut: number;
  rttP50: number | null;
  rttP90: number | null;
  rttP99: number | null;
  /** Closes in this interval by code. */
  closes: Record<string, number>;
  resumesOk: number;
  resumesFailed: number;
}

/** How a connection looks from the server. */
export type ConnectionHealth = 'ok' | 'connecting' | 'degraded' | 'stale' | 'closing';

/** One row of the connections table. */
export interface ConnectionRow {
  id: string;
  path: string;
  ip: string;
  user: string | null;
  client: string | null;
  state: ConnectionState;
  health: ConnectionHealth;
  /** Why the health is not `ok`. */
  healthReason: string | null;
  rttMs: number | null;
  connectedAt: number;
  /** Ms since the last inbound traffic. */
  silentMs: number;
  messagesIn: number;
  messagesOut: number;
  errors: number;
}

/** An entry of the recent errors list. */
export interface RecentError {
  /** Wall-clock ms. */
  at: number;
  /** `close` (abnormal close), `auth`, `api`, `store`, or what the reporter chose. */
  kind: string;
  message: string;
  /** A close code or an error code. */
  code?: number | string;
  connection?: string;
  ip?: string;
  user?: string;
}
