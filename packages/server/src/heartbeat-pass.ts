import { CloseCode } from '@tether/protocol';
import type { Connection } from './connection.js';
import type { ConnectionLiveness } from './connection-liveness.js';
import { heartbeatAction } from './heartbeat.js';
import type { LivenessTable } from './liveness-table.js';
import type { Logger } from './logger.js';
import type { ResolvedEndpointOptions } from './options.js';
import type { StabilityWatch } from './stability.js';
import type { EndpointCounters } from './stats.js';

/**
 * One endpoint's part of each heartbeat pass (see {@link heartbeatAction}): the
 * connections the liveness table hands over are pinged, reported stale, cut as
 * half-open, timed out in their handshake or terminated after their close grace.
 */
export class HeartbeatPass {
  private now = 0;
  private judge = true;

  constructor(
    private readonly liveness: LivenessTable<ConnectionLiveness>,
    private readonly options: ResolvedEndpointOptions,
    private readonly counters: EndpointCounters,
    private readonly logger: Logger,
    private readonly stability: StabilityWatch,
  ) {}

  /**
   * One pass at `now`. With `judge` false it only pings: no deadline is enforced. Only
   * the connections that may need it are visited: silent long enough to be stale (the
   * stability watch's threshold) or to be cut (interval + timeout), whichever is
   * shorter; a ping due; or not open.
   */
  run(now: number, judge: boolean): void {
    this.now = now;
    this.judge = judge;
    const { heartbeatIntervalMs, heartbeatTimeoutMs } = this.options;
    const quietMs = Math.min(this.stability.staleAfterMs, heartbeatIntervalMs + heartbeatTimeoutMs);
    this.liveness.forEachDue(now, quietMs, this.visit);
  }

  private readonly visit = (owner: ConnectionLiveness): void => {
    const connection = owner as Connection;
    const { now, judge } = this;
    const action = heartbeatAction(connection, now, this.options);
    if (judge) this.stability.sweep(connection, now, action);
    if (!judge && action !== 'ping') return;
    switch (action) {
      case 'ping':
        connection.ping(now);
        break;
      case 'heartbeat-timeout':
        this.counters.add('heartbeatTimeouts');
        this.logger.info(
          { cid: connection.id, ip: connection.ip },
          'heartbeat timeout (half-open), terminating',
        );
        connection.closeWith(CloseCode.HEARTBEAT_TIMEOUT, 'heartbeat timeout', undefined, true);
        break;
      case 'handshake-timeout':
        this.counters.add('handshakeTimeouts');
        this.logger.info({ cid: connection.id, ip: connection.ip }, 'no hello in time');
        connection.closeWith(
          CloseCode.HANDSHAKE_TIMEOUT,
          `no hello within ${this.options.handshakeTimeoutMs} ms`,
        );
        break;
      case 'terminate':
        connection.terminate();
        break;
      default:
        break;
    }
  };
}
