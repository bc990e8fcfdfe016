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

/** pino's numeric levels, so the lines read the same as the hub's pino output. */
const LEVELS = { debug: 20, info: 30, warn: 40, error: 50 } as const;
type LevelName = keyof typeof LEVELS;

/**
 * A logger writing one JSON line per entry (pino's shape: `level`, `time`, `name`,
 * `msg` and the context) to `write`, dropping entries below `level`. No dependency:
 * the server library does not install a logging framework for its users; pass
 * `logger: pino()` (or any {@link Logger}) for more.
 */
export function jsonLineLogger(
  level: LevelName | 'silent',
  write: (line: string) => void,
  bindings: Record<string, unknown> = {},
): Logger {
  if (level === 'silent') return silentLogger;
  const min = LEVELS[level];
  const entry =
    (name: LevelName) =>
    (context: object, msg: string): void => {
      if (LEVELS[name] < min) return;
      let line: string;
      try {
        line = JSON.stringify({
          level: LEVELS[name],
          time: Date.now(),
          ...bindings,
          ...context,
          msg,
        });
      } catch {
        line = JSON.stringify({ level: LEVELS[name], time: Date.now(), ...bindings, msg });
      }
      write(`${line}\n`);
    };
  return {
    debug: entry('debug'),
    info: entry('info'),
    warn: entry('warn'),
    error: entry('error'),
    child: (more) => jsonLineLogger(level, write, { ...bindings, ...more }),
  };
}

/**
 * The default logger: JSON lines at `info` on stdout, named `tether`; `silent` under
 * a test runner (VITEST set or NODE_ENV=test).
 */
export function defaultLogger(): Logger {
  return jsonLineLogger(underTest() ? 'silent' : 'info', (line) => process.stdout.write(line), {
    name: 'tether',
  });
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
