import type { Disposer } from '@tether/common';
import type { Logger } from '@tether/server';
import { configFromObject } from './config.js';
import type { HubConfig } from './config-types.js';
import { type Hub, type HubIo, type HubOptions, startHub } from './hub.js';

export { WS_PATH } from './hub.js';

/** Where the CLI writes. Injected so tests run it in-process. */
export type CliIo = HubIo;

/** Path of the liveness check. */
export const HEALTH_PATH = '/healthz';

/** A nested partial of the configuration (the shape of tether.config.json). */
export type DeepPartial<T> = {
  [K in keyof T]?: T[K] extends readonly unknown[]
    ? T[K]
    : T[K] extends object
      ? DeepPartial<T[K]>
      : T[K];
};

/**
 * Options of {@link serve}: any part of the configuration, in the shape of
 * tether.config.json (validated the same way; errors name `serve()` and the key), plus
 * what embedding code injects. Unlike the `tether serve` command, `serve()` defaults to
 * the memory store and, when `auth` is not given, to no authentication (with the
 * warning; with `connect` in `backend.events`, the backend decides): it is the entry point of tests, benchmarks and embedding code.
 */
export interface ServeOptions extends DeepPartial<Omit<HubConfig, 'auth' | 'topics'>> {
  auth?: { mode: 'none' } | { mode: 'backend' } | ({ mode?: 'jwt' } & Record<string, unknown>);
  topics?: HubConfig['topics'];
  /** Default: pino at `log.level`. */
  logger?: Logger;
  /** Export Node's process metrics too (see {@link HubOptions.processMetrics}). Default false here. */
  processMetrics?: boolean;
}

/** A running hub. */
export type ServeHandle = Hub;

/**
 * Starts the hub in this process from options (see {@link ServeOptions}); the CLI's
 * `tether serve` resolves flags, environment and the config file, then calls
 * {@link startHub} the same way. Prints `tether listening on http://HOST:PORT (ws: /ws)`.
 */
export async function serve(options: ServeOptions, io: CliIo): Promise<ServeHandle> {
  const { logger, processMetrics, ...rest } = options;
  // With connect forwarded the backend decides who connects: no default auth then.
  const connectHook = rest.backend?.events?.includes('connect') === true;
  const input: Record<string, unknown> = {
    store: 'memory',
    ...(connectHook ? {} : { auth: { mode: 'none' } }),
    ...rest,
  };
  for (const key of Object.keys(input)) if (input[key] === undefined) delete input[key];
  const { config, warnings } = configFromObject(input, 'serve()');
  return startHub(config, {
    io,
    warnings,
    processMetrics: processMetrics ?? false,
    ...(logger === undefined ? {} : { logger }),
  });
}

/** The part of `process` the signal handling needs. */
export interface SignalSource {
  on(signal: 'SIGTERM' | 'SIGINT', listener: () => void): unknown;
  off(signal: 'SIGTERM' | 'SIGINT', listener: () => void): unknown;
}

/**
 * On SIGTERM or SIGINT: a graceful shutdown of `handle`; a second signal while draining
 * calls `forceExit` (an operator pressing Ctrl-C twice means it). Returns the disposer.
 */
export function handleShutdownSignals(
  handle: Pick<ServeHandle, 'close'>,
  source: SignalSource,
  io: CliIo,
  forceExit: (code: number) => void,
): Disposer {
  let received = false;
  const onSignal = (signal: 'SIGTERM' | 'SIGINT') => () => {
    if (received) {
      io.stderr(`tether: ${signal} again, exiting without waiting for the drain`);
      forceExit(1);
      return;
    }
    received = true;
    io.stderr(`tether: ${signal} received, draining connections`);
    void handle.close();
  };
  const onTerm = onSignal('SIGTERM');
  const onInt = onSignal('SIGINT');
  source.on('SIGTERM', onTerm);
  source.on('SIGINT', onInt);
  return () => {
    source.off('SIGTERM', onTerm);
    source.off('SIGINT', onInt);
  };
}
