import type { IncomingMessage } from 'node:http';
import type { Clock } from '@tether/common';
import type { Json } from '@tether/protocol';
import type { RawData } from 'ws';
import type { AckScheduler } from './ack-scheduler.js';
import type { Connection } from './connection.js';
import type { ConnectionLiveness } from './connection-liveness.js';
import type { CloseEvent } from './connection-types.js';
import type { FlushScheduler } from './flush-scheduler.js';
import type { LivenessTable } from './liveness-table.js';
import type { Logger } from './logger.js';
import type { ResolvedEndpointOptions } from './options.js';
import type { EndpointCounters } from './stats.js';

/** What a connection needs from its endpoint. */
export interface ConnectionHost {
  readonly path: string;
  readonly options: ResolvedEndpointOptions;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly flusher: FlushScheduler;
  /** Delays acks by `ackDelayMs` so that several share one frame. */
  readonly acks: AckScheduler;
  readonly counters: EndpointCounters;
  /** The heartbeat's timestamps of the endpoint's connections. */
  readonly liveness: LivenessTable<ConnectionLiveness>;
  /** The connection passed `slowConsumerBytes` and is being closed with 4009. */
  slowConsumer(connection: Connection, bytes: number): void;
  /** The connection's token deadlines changed: the expiry watch looks again. */
  tokenChanged(connection: Connection): void;
  /** Handles one inbound WebSocket message (the frame router). */
  route(connection: Connection, data: RawData, isBinary: boolean): void;
  /** The socket closed; the event is final. */
  closed(connection: Connection, event: CloseEvent): void;
  /** A round-trip time was measured (ops metrics observe it). */
  rttMeasured(connection: Connection, rttMs: number): void;
}

/** Who the `authenticate` hook said the connection is. */
export interface ConnectionIdentity {
  ip: string;
  user: string | undefined;
  data: Readonly<Record<string, Json>> | undefined;
  /** When the credentials expire (wall-clock ms); undefined when they do not. */
  expiresAt: number | undefined;
  /** The upgrade request, kept for the hook when the token can be refreshed. */
  request: IncomingMessage | undefined;
  /** Data for the client's `welcome` (the `welcome` of `authenticate`). */
  welcome?: Readonly<Record<string, Json>> | undefined;
}
