import {
  ConfigError,
  handleShutdownSignals,
  hubJsonSchema,
  resolveHubConfig,
  type ServeHandle,
  startHub,
} from '@tether/hub';
import { parseServeArgs, SERVE_USAGE, type ServeArgs } from './args.js';
import { type Command, EXIT } from './command.js';

/**
 * `tether serve`: resolves the configuration (flags, environment, file), starts the hub and
 * runs until SIGTERM or SIGINT has drained it (exit 0); a bad setting exits 2 naming it, a
 * hub that cannot start exits 1. `--print-schema` prints the config file's JSON Schema.
 */
export const serveCommand: Command<ServeArgs> = {
  name: 'serve',
  summary: 'run the Tether hub (tether serve --help for its options)',
  usage: SERVE_USAGE,
  parse: parseServeArgs,
  async run(args, deps) {
    const { io } = deps;
    if (args.printSchema) {
      io.stdout(JSON.stringify(hubJsonSchema(), null, 2));
      return EXIT.ok;
    }
    const resolved = resolveHubConfig({
      flags: args.flags,
      ...(args.configPath === undefined ? {} : { configPath: args.configPath }),
      env: deps.env ?? process.env,
      ...(deps.cwd === undefined ? {} : { cwd: deps.cwd }),
    });
    let handle: ServeHandle;
    try {
      handle = await startHub(resolved.config, {
        io,
        warnings: resolved.warnings,
        ...(resolved.file === undefined ? {} : { configFile: resolved.file }),
      });
    } catch (err) {
      if (err instanceof ConfigError) throw err;
      io.stderr(`tether serve: cannot start: ${err instanceof Error ? err.message : String(err)}`);
      return EXIT.failed;
    }
    const disposeSignals = handleShutdownSignals(
      handle,
      deps.signals ?? process,
      io,
      deps.exit ?? ((code) => process.exit(code)),
    );
    deps.onServing?.(handle);
    await handle.closed;
    disposeSignals();
    io.stderr('tether: stopped');
    return EXIT.ok;
  },
};
