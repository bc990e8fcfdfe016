import type { Disposer } from '@tether/common';
import { CloseCode } from '@tether/protocol';
import type { Endpoint } from '@tether/server';
import type { AuditedClient } from './audited-client.js';
import type { StallRecord } from './faults.js';

/** Slack over heartbeat interval + timeout before a stall counts as undetected. */
export const DETECTION_SLACK_MS = 1_500;

/** One stall as the verdict judges it. */
export interface Detection {
  lastedMs: number;
  /**
   * Whether the client was open when the stall began. A stall of a link still in its
   * handshake is no half-open connection: neither side runs heartbeats before the
   * welcome, and the client's connect timeout covers it.
   */
  established: boolean;
  /** Whether both sides must detect the stall: established, and longer than the heartbeat deadline plus slack. */
  mustDetect: boolean;
  /** When the client, and the server, closed the stalled link (ms after its start); only closes during the stall count. */
  clientMs: number | undefined;
  serverMs: number | undefined;
}

/**
 * Half-open detection, measured: the fault driver's stalls (with each client's state
 * when one began), the clients' close logs, and the server's heartbeat closes (code
 * 4008, HEARTBEAT_TIMEOUT) by client name.
 */
export class StallWatch {
  private readonly serverTimeouts: Array<{ name: string; at: number }> = [];
  private readonly inHandshake = new WeakSet<StallRecord>();

  constructor(
    private readonly clients: readonly AuditedClient[],
    private readonly heartbeat: { intervalMs: number; timeoutMs: number },
  ) {}

  /** The fault driver's `onStall`: notes whether the stalled client was open. */
  readonly onStall = (stall: StallRecord): void => {
    if (this.clients[stall.proxy]?.open !== true) this.inHandshake.add(stall);
  };

  /** Records `endpoint`'s heartbeat closes, by the client's name (its hello's `client.name`). */
  watchServer(endpoint: Endpoint): Disposer {
    return endpoint.on('close', (event) => {
      const name = event.connection.info().client?.name;
      if (event.code === CloseCode.HEARTBEAT_TIMEOUT && name !== undefined) {
        this.serverTimeouts.push({ name, at: Date.now() });
      }
    });
  }

  /** Each stall, judged. */
  detections(stalls: readonly StallRecord[], now = Date.now()): Detection[] {
    const { intervalMs, timeoutMs } = this.heartbeat;
    return stalls.map((stall) => {
      const audited = this.clients[stall.proxy];
      const endedAt = stall.endedAt ?? now;
      // A close after the stall ended detected something else (a later stall, a reset).
      const during = (at: number): boolean => at >= stall.startedAt && at <= endedAt;
      const client = audited?.closeLog.find(
        (c) => c.code === CloseCode.HEARTBEAT_TIMEOUT && during(c.at),
      );
      const srv = this.serverTimeouts.find((t) => t.name === audited?.name && during(t.at));
      const lastedMs = endedAt - stall.startedAt;
      const established = !this.inHandshake.has(stall);
      return {
        lastedMs,
        established,
        mustDetect: established && lastedMs > intervalMs + timeoutMs + DETECTION_SLACK_MS,
        clientMs: client === undefined ? undefined : client.at - stall.startedAt,
        serverMs: srv === undefined ? undefined : srv.at - stall.startedAt,
      };
    });
  }
}
