/**
 * The Prometheus metrics read from stats, per endpoint and server-wide, as data: each is
 * read from the stats when Prometheus scrapes (see `TetherMetrics`), so adding one is a
 * row here, not another collector.
 */
import type { EndpointStats } from '../stats.js';
import type { ServerStats } from '../tether-server.js';

/**
 * A metric read from stats `S` (an endpoint's or the server's) at scrape time. Its type
 * follows the Prometheus naming rule: a name ending in `_total` is a counter, any other
 * a gauge (see {@link metricType}).
 */
export interface ScrapedMetric<S> {
  name: string;
  help: string;
  read: (stats: S) => number;
}

/** `counter` for a name ending in `_total` (the Prometheus rule for counters), else `gauge`. */
export function metricType(name: string): 'counter' | 'gauge' {
  return name.endsWith('_total') ? 'counter' : 'gauge';
}

/** The per-endpoint metrics, in the order they are exported. */
export const PER_ENDPOINT_METRICS: readonly ScrapedMetric<EndpointStats>[] = [
  {
    name: 'tether_connections',
    help: 'Open WebSocket connections (any state).',
    read: (e) => e.connections,
  },
  {
    name: 'tether_connections_ready',
    help: 'Connections welcomed and open.',
    read: (e) => e.ready,
  },
  { name: 'tether_connects_total', help: 'WebSocket upgrades accepted.', read: (e) => e.accepted },
  {
    name: 'tether_messages_in_total',
    help: 'Frames received from clients.',
    read: (e) => e.messagesIn,
  },
  {
    name: 'tether_messages_out_total',
    help: 'Frames sent to clients.',
    read: (e) => e.messagesOut,
  },
  {
    name: 'tether_bytes_in_total',
    help: 'WebSocket payload bytes received.',
    read: (e) => e.bytesIn,
  },
  {
    name: 'tether_bytes_out_total',
    help: 'WebSocket payload bytes sent.',
    read: (e) => e.bytesOut,
  },
  {
    name: 'tether_heartbeat_timeouts_total',
    help: 'Connections terminated as dead or half-open (close 4008).',
    read: (e) => e.heartbeatTimeouts,
  },
  {
    name: 'tether_handshake_timeouts_total',
    help: 'Connections that sent no hello in time (close 4000).',
    read: (e) => e.handshakeTimeouts,
  },
  {
    name: 'tether_rate_limited_total',
    help: 'Frames rejected by the per-connection rate limit (RATE_LIMITED).',
    read: (e) => e.rateLimited,
  },
  {
    name: 'tether_slow_consumer_disconnects_total',
    help: 'Connections closed as slow consumers (close 4009; they resume).',
    read: (e) => e.slowConsumers,
  },
  {
    name: 'tether_error_frames_total',
    help: 'Error frames sent to clients.',
    read: (e) => e.errors,
  },
  {
    name: 'tether_handlers_in_flight',
    help: 'Request and message handlers running now.',
    read: (e) => e.inFlight,
  },
  {
    name: 'tether_replayed_messages_total',
    help: 'Messages and publications replayed to resuming or catching-up clients.',
    read: (e) => e.replayed,
  },
  {
    name: 'tether_duplicates_dropped_total',
    help: 'Client messages received again after a reconnect and dropped (acked, not processed twice).',
    read: (e) => e.duplicates,
  },
  {
    name: 'tether_sessions',
    help: 'Sessions held (connected, or disconnected within their resume window).',
    read: (e) => e.sessions,
  },
  {
    name: 'tether_direct_messages_stored_total',
    help: 'Direct messages (sendTo, sendToUser, /api/send) stored for reliable delivery.',
    read: (e) => e.delivery.messagesStored,
  },
  {
    name: 'tether_direct_messages_dropped_total',
    help: 'Unacknowledged direct messages dropped by the per-session retention bound (a later resume reports a gap).',
    read: (e) => e.delivery.messagesDropped,
  },
];

/** The metrics with one series for the whole server, in the order they are exported. */
export const SERVER_METRICS: readonly ScrapedMetric<ServerStats>[] = [
  {
    name: 'tether_draining',
    help: '1 while the server shuts down gracefully (readiness fails), else 0.',
    read: (s) => (s.state === 'running' ? 0 : 1),
  },
  {
    name: 'tether_topics',
    help: 'Topics with subscribers or history in this process.',
    read: (s) => s.topics.topics,
  },
  {
    name: 'tether_subscriptions',
    help: 'Topic subscriptions of open connections.',
    read: (s) => s.topics.subscriptions,
  },
  {
    name: 'tether_publications_total',
    help: 'Topic publications (server API, HTTP API and clients).',
    read: (s) => s.topics.publications,
  },
];
