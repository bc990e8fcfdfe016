import type { Clock } from '@tether/common';
import type { Connection } from './connection.js';
import type { MessageEvent, MessageHandler, RequestHandler } from './connection-types.js';
import type { Logger } from './logger.js';
import type { ResolvedEndpointOptions } from './options.js';
import type { SessionGrant } from './session.js';
import type { SessionRegistry } from './sessions.js';
import type { EndpointCounters } from './stats.js';
import type { Topics } from './topics.js';
import type { WelcomeEncoder } from './welcome-encoder.js';

/**
 * What the frame router needs from its endpoint. Sessions and topics are reached
 * through their interfaces, so durable versions plug in here unchanged.
 */
export interface RouterContext {
  readonly options: ResolvedEndpointOptions;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly counters: EndpointCounters;
  readonly sessions: SessionRegistry;
  readonly topics: Topics;
  /** The endpoint's welcome frames, their shared part encoded once. */
  readonly welcomes: WelcomeEncoder;
  requestHandler(method: string): RequestHandler | undefined;
  readonly messageHandler: MessageHandler | undefined;
  hasMessageListeners(): boolean;
  emitMessage(event: MessageEvent): void;
  /** The connection was welcomed with this session. */
  ready(connection: Connection, grant: SessionGrant): void;
  /** A handler of the connection finished (graceful shutdown waits for these). */
  settled(connection: Connection): void;
}
