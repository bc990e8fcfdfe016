/**
 * @tether/cli — the `tether` command: `tether serve` (the hub: WebSocket endpoint, HTTP
 * API, health, Prometheus metrics, stats and a live dashboard) and the measuring tools
 * (`probe`, `bench`, `chaos`). `bin/tether.js` calls {@link main}.
 *
 * @packageDocumentation
 */
import { type CommandDeps, EXIT, runCommand } from './command.js';
import { COMMANDS, USAGE } from './commands.js';
import { processLines } from './stdio.js';

export { parseServeArgs, SERVE_USAGE, type ServeArgs, UsageError } from './args.js';
export { type Command, type CommandDeps, EXIT, runCommand } from './command.js';
export { COMMANDS, USAGE } from './commands.js';
export {
  CONFIG_FILE,
  ConfigError,
  type ConfigSources,
  configFromObject,
  type ResolvedConfig,
  resolveHubConfig,
} from './config.js';
export { HUB_SCHEMA, type HubSettings } from './config-schema.js';
export { HUB_SETTINGS, hubJsonSchema, type Setting } from './config-settings.js';
export {
  type AuthConfig,
  HUB_DEFAULTS,
  type HubConfig,
  type JwtAlgorithm,
  type LogLevel,
  type TopicHistoryRule,
  type TopicPermission,
  type TopicRule,
} from './config-types.js';
export { ApiError, ApiErrorCode, type ApiErrorCodeName } from './http-errors.js';
export { type Hub, type HubIo, type HubOptions, startHub } from './hub.js';
export {
  type CliIo,
  type DeepPartial,
  HEALTH_PATH,
  handleShutdownSignals,
  type ServeHandle,
  type ServeOptions,
  type SignalSource,
  serve,
  WS_PATH,
} from './serve.js';
export { TopicAccess, type TopicClaims, topicMatches } from './topic-access.js';

/** What {@link main} talks to; defaults to the real process. Tests inject their own. */
export type MainDeps = Partial<CommandDeps>;

/**
 * Runs the CLI with `argv` (without `node` and the script). Resolves with the exit
 * status ({@link EXIT}): 0 after a clean run (for `serve`: after a signal and a completed
 * drain), 2 for a usage error (the message names the flag), 1 when the run failed.
 */
export async function main(argv: readonly string[], deps: MainDeps = {}): Promise<number> {
  const io = deps.io ?? processLines();
  const [name, ...rest] = argv;
  if (name === undefined) {
    io.stderr(USAGE);
    return EXIT.usage;
  }
  if (name === '-h' || name === '--help' || name === 'help') {
    io.stdout(USAGE);
    return EXIT.ok;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (command === undefined) {
    io.stderr(`tether: unknown command "${name}"\n\n${USAGE}`);
    return EXIT.usage;
  }
  return runCommand(command, rest, { ...deps, io, signals: deps.signals ?? process });
}
