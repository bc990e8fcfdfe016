import pino from 'pino';

/**
 * The logging surface the server uses: a subset of pino's, so a pino logger
 * (or a child of the application's) fits as is, and so does any logger with
 * these methods. Every call passes a context object first.
 *
 * Levels: normal closes (1000/1001) at debug; refusals, abnormal closes and
 * heartbeat timeouts at info; real faults (a handler that throws, a hook that
 * fails, a socket error) at error. Tokens and message bodies are never logged.
 */
export interface Logger {
  debug(context: object, message: string): void;
  info(context: object, message: string): void;
  warn(context: object, message: string): void;
  error(context: object, message: string): void;
  child(bindings: Record<string, unknown>): Logger;
}

/** Whether the process runs under a test runner (its logs would only be noise there). */
function underTest(): boolean {
  const env = globalThis.process?.env ?? {};
  return env.VITEST !== undefined || env.NODE_ENV === 'test';
}

/**
 * The default logger: pino at `info` on stdout, named `tether`; `silent` under
 * a test runner (VITEST set or NODE_ENV=test).
 */
export function defaultLogger(): Logger {
  return pino({ name: 'tether', level: underTest() ? 'silent' : 'info' });
}

/** A logger that drops everything. */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silentLogger;
  },
};
