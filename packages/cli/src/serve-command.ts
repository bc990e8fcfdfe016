import {
  ConfigError,
  type HubCluster,
  type HubConfig,
  handleShutdownSignals,
  hubJsonSchema,
  resolveHubConfig,
  type ServeHandle,
  startHub,
  startHubCluster,
  workerSlot,
} from '@tether/hub';
import { parseServeArgs, SERVE_USAGE, type ServeArgs } from './args.js';
import { type Command, type CommandDeps, EXIT } from './command.js';

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
    const slot = workerSlot(deps.env ?? process.env);
    if (slot === undefined && resolved.config.workers > 1) {
      return runPrimary(resolved.config, deps);
    }
    // A worker's own lines say which worker: N processes write to one terminal.
    const hubIo =
      slot === undefined
        ? io
        : {
            stdout: (line: string) => io.stdout(`[worker ${slot} pid ${process.pid}] ${line}`),
            stderr: (line: string) => io.stderr(`[worker ${slot} pid ${process.pid}] ${line}`),
          };
    let handle: ServeHandle;
    try {
      handle = await startHub(resolved.config, {
        io: hubIo,
        warnings: resolved.warnings,
        ...(resolved.file === undefined ? {} : { configFile: resolved.file }),
        ...(slot === undefined ? {} : { worker: { slot } }),
      });
    } catch (err) {
      if (err instanceof ConfigError) throw err;
      io.stderr(`tether serve: cannot start: ${err instanceof Error ? err.message : String(err)}`);
      return EXIT.failed;
    }
    const disposeSignals = handleShutdownSignals(
      handle,
      deps.signals ?? process,
      hubIo,
      deps.exit ?? ((code) => process.exit(code)),
    );
    deps.onServing?.(handle);
    await handle.closed;
    disposeSignals();
    hubIo.stderr('tether: stopped');
    return EXIT.ok;
  },
};

/** `--workers N`: forks the workers and waits for their drain (see startHubCluster). */
async function runPrimary(config: HubConfig, deps: CommandDeps): Promise<number> {
  const { io } = deps;
  let cluster: HubCluster;
  try {
    cluster = await startHubCluster(config, {
      io,
      signals: deps.signals ?? process,
      exit: deps.exit ?? ((code) => process.exit(code)),
    });
  } catch (err) {
    io.stderr(`tether serve: cannot start: ${err instanceof Error ? err.message : String(err)}`);
    return EXIT.failed;
  }
  const code = await cluster.closed;
  io.stderr(code === 0 ? 'tether: stopped' : 'tether: stopped; a worker did not drain cleanly');
  return code === 0 ? EXIT.ok : EXIT.failed;
}
