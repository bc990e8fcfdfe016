import type { ConnectionInfo } from '../connection-types.js';
import { OPS_DEFAULTS } from './defaults.js';
import type { ConnectionHealth, ConnectionRow } from './stats-report.js';

/**
 * A connection as the connections table shows it (never its session id: with it,
 * `/api/send {session}` reaches the session, and it is half of what a resume presents), with its health judged from the
 * heartbeat settings of its endpoint: `stale` once it has been silent for more than
 * interval + timeout / 2 (past a missed heartbeat: likely half-open; the heartbeat
 * closes it with 4008 at interval + timeout), `degraded` for a slow RTT or error frames.
 */
export function connectionRow(
  info: ConnectionInfo,
  now: number,
  heartbeatIntervalMs: number,
  heartbeatTimeoutMs: number,
): ConnectionRow {
  const silentMs = Math.max(0, now - info.lastSeenAt);
  let health: ConnectionHealth = 'ok';
  let healthReason: string | null = null;
  if (info.state === 'handshake') {
    health = 'connecting';
    healthReason = 'waiting for hello';
  } else if (info.state === 'closing' || info.state === 'closed') {
    health = 'closing';
    healthReason = 'closing';
  } else if (silentMs > heartbeatIntervalMs + heartbeatTimeoutMs / 2) {
    // Past half the timeout after a missed heartbeat: likely half-open, soon closed with 4008.
    health = 'stale';
    healthReason = `silent for ${Math.round(silentMs / 1000)} s`;
  } else if (info.rttMs !== undefined && info.rttMs > OPS_DEFAULTS.degradedRttMs) {
    health = 'degraded';
    healthReason = `RTT ${Math.round(info.rttMs)} ms`;
  } else if (info.errors > 0) {
    health = 'degraded';
    healthReason = `${info.errors} error frame${info.errors === 1 ? '' : 's'}`;
  }
  const client =
    info.client === undefined
      ? null
      : [info.client.name, info.client.version].filter((x) => x !== undefined).join(' ') || null;
  return {
    id: info.id,
    path: info.path,
    ip: info.ip,
    user: info.user ?? null,
    client,
    state: info.state,
    health,
    healthReason,
    rttMs: info.rttMs === undefined ? null : Math.round(info.rttMs * 100) / 100,
    connectedAt: info.connectedAt,
    silentMs,
    messagesIn: info.messagesIn,
    messagesOut: info.messagesOut,
    errors: info.errors,
  };
}
