import type { AuditedClient } from './audited-client.js';
import type { StallRecord } from './faults.js';

/** Slack over heartbeat interval + timeout before a stall counts as undetected. */
export const DETECTION_SLACK_MS = 1_500;

/** One stall as the verdict judges it. */
export interface Detection {
  lastedMs: number;
  /** Whether the stall lasted long enough that both sides must detect it. */
  mustDetect: boolean;
  /** When the client, and the server, closed the stalled link (ms after its start). */
  clientMs: number | undefined;
  serverMs: number | undefined;
}

/**
 * Half-open detection, measured: the server's heartbeat closes (code 4008) by client
 * name, matched with the fault driver's stalls and the clients' close logs.
 */
export class StallWatch {
  private readonly serverTimeouts: Array<{ name: string; at: number }> = [];

  constructor(
    private readonly clients: readonly AuditedClient[],
    private readonly heartbeat: { intervalMs: number; timeoutMs: number },
  ) {}

  /** The server closed `name`'s connection for a missed heartbeat. */
  serverTimeout(name: string, at = Date.now()): void {
    this.serverTimeouts.push({ name, at });
  }

  /** Each stall, judged. */
  detections(stalls: readonly StallRecord[], now = Date.now()): Detection[] {
    const { intervalMs, timeoutMs } = this.heartbeat;
    return stalls.map((stall) => {
      const audited = this.clients[stall.proxy];
      const client = audited?.closeLog.find((c) => c.code === 4008 && c.at >= stall.startedAt);
      const srv = this.serverTimeouts.find(
        (t) => t.name === audited?.name && t.at >= stall.startedAt,
      );
      const lastedMs = (stall.endedAt ?? now) - stall.startedAt;
      return {
        lastedMs,
        mustDetect: lastedMs > intervalMs + timeoutMs + DETECTION_SLACK_MS,
        clientMs: client === undefined ? undefined : client.at - stall.startedAt,
        serverMs: srv === undefined ? undefined : srv.at - stall.startedAt,
      };
    });
  }
}
