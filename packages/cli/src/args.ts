import { TetherError } from '@tether/common';
import { type ConfigLayer, FIELD_BY_FLAG, FIELDS } from '@tether/hub';

/** A command line the CLI cannot run; the message names the flag. Exit status 2. */
export class UsageError extends TetherError {
  override name = 'UsageError';

  constructor(message: string) {
    super('USAGE', message, { retryable: false });
  }
}

/** What `tether serve` was given on its command line (values are checked later, with the rest of the configuration). */
export interface ServeArgs {
  help: boolean;
  /** `--config PATH`. */
  configPath: string | undefined;
  /** Flag values by config key. */
  flags: ConfigLayer;
}

const flagLines = FIELDS.filter((f) => f.flag !== undefined).map((f) => {
  const left = `  ${f.flag}${f.arg === undefined ? '' : ` ${f.arg}`}`;
  return `${left.padEnd(32)} ${f.help}`;
});

export const SERVE_USAGE = `Usage: tether serve [options]

Runs the Tether hub: WebSocket endpoint /ws, HTTP API /api/*, /healthz, /readyz,
/stats, /metrics, /admin/*, the dashboard at /dashboard and a demo page at /.

Settings come from flags, then environment variables (TETHER_*), then the config file
(tether.config.json in the working directory, or --config PATH), then defaults.
Every setting is described in docs/configuration.md.

Options:
  --config <path>                config file (default ./tether.config.json if it exists)
${flagLines.join('\n')}
  -h, --help                     show this help

Authentication is on by default (JWT): set TETHER_JWT_SECRET or --jwt-secret, or use
--insecure for local development. SIGTERM or SIGINT drains connections (goodbye + close
1012) and exits 0.`;

export const USAGE = `Usage: tether <command> [options]

Commands:
  serve    run the Tether hub (tether serve --help for its options)

Options:
  -h, --help    show this help`;

/**
 * Parses the arguments after `serve`: `--flag value`, `--flag=value`, and value-less
 * flags (`--insecure`); the last occurrence of a flag wins. Only the syntax is checked
 * here: values are checked with the environment and the config file (a bad value
 * throws a `ConfigError` naming the flag). Throws a {@link UsageError} naming the flag.
 */
export function parseServeArgs(argv: readonly string[]): ServeArgs {
  const flags: ConfigLayer = new Map();
  let help = false;
  let configPath: string | undefined;
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] as string;
    if (arg === '-h' || arg === '--help') {
      help = true;
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq === -1 ? arg : arg.slice(0, eq);
    const field = FIELD_BY_FLAG.get(name);
    if (field === undefined && name !== '--config') {
      throw new UsageError(
        arg.startsWith('-')
          ? `unknown option ${name}`
          : `unexpected argument "${arg}" (serve takes no arguments)`,
      );
    }
    if (field !== undefined && field.arg === undefined) {
      if (eq !== -1) throw new UsageError(`${name} takes no value`);
      flags.set(field.key, { value: field.flagValue, text: false, label: name });
      continue;
    }
    let value: string | undefined;
    if (eq !== -1) value = arg.slice(eq + 1);
    else {
      value = argv[i + 1];
      if (value === undefined || (value.startsWith('--') && value.length > 2)) {
        throw new UsageError(`${name} needs a value`);
      }
      i += 1;
    }
    if (field === undefined) {
      if (value === '') throw new UsageError('--config needs a path');
      configPath = value;
    } else flags.set(field.key, { value, text: true, label: name });
  }
  return { help, configPath, flags };
}
