import type { CloseContext, FailureContext } from './probe-diagnosis.js';

/** What the probe records: plain data, turned into a report by probe-report.ts. */

/** The welcome's parameters, as the server announced them. */
export interface ProbeWelcome {
  sessionId: string;
  connectionId: string;
  heartbeat: { intervalMs: number; timeoutMs: number };
  limits: Record<string, number>;
  resumeWindowMs: number;
}

/** One RTT measurement. */
export interface RttSample {
  /** Since the connection opened. */
  atMs: number;
  rttMs: number;
}

/** Everything the probe observed. */
export interface ProbeRecord {
  url: string;
  mode: 'tether' | 'raw';
  /** Wall-clock ms at the start. */
  startedAt: number;
  /** From the start: the HTTP upgrade answer, the WebSocket open, the welcome. */
  upgradeMs: number | undefined;
  openMs: number | undefined;
  welcomeMs: number | undefined;
  subprotocol: string | undefined;
  welcome: ProbeWelcome | undefined;
  samples: RttSample[];
  pings: { sent: number; answered: number; timedOut: number };
  messages: { in: number; out: number; bytesIn: number };
  /** Tether frames received, by type. */
  frames: Record<string, number>;
  /** Heartbeats received from the server: Tether app pings and WebSocket pings. */
  heartbeats: { app: number; ws: number };
  /** Error frames the server sent. */
  serverErrors: Array<{ code: string; message: string }>;
  goodbye: CloseContext['goodbye'];
  /** How long the connection was open. */
  heldMs: number;
  /** Set when the connection closed before the probe ended it. */
  close: Omit<CloseContext, 'hadToken' | 'raw'> | undefined;
  /** Set when the connection never became usable. */
  failure: Omit<FailureContext, 'hadToken' | 'raw'> | undefined;
  /** The run was stopped early (Ctrl-C). */
  interrupted: boolean;
}

/** Live events, for the text output. */
export type ProbeEvent =
  | { type: 'open'; record: ProbeRecord }
  | { type: 'rtt'; sample: RttSample }
  | { type: 'ping-timeout'; atMs: number }
  | { type: 'goodbye'; code: number; reason: string; retryAfter: number | undefined };

/** A record with nothing observed yet. */
export function emptyRecord(url: string, mode: 'tether' | 'raw', startedAt: number): ProbeRecord {
  return {
    url,
    mode,
    startedAt,
    upgradeMs: undefined,
    openMs: undefined,
    welcomeMs: undefined,
    subprotocol: undefined,
    welcome: undefined,
    samples: [],
    pings: { sent: 0, answered: 0, timedOut: 0 },
    messages: { in: 0, out: 0, bytesIn: 0 },
    frames: {},
    heartbeats: { app: 0, ws: 0 },
    serverErrors: [],
    goodbye: undefined,
    heldMs: 0,
    close: undefined,
    failure: undefined,
    interrupted: false,
  };
}
