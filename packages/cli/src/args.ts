import { type ConfigLayer, formatDefault, HUB_SETTINGS, type Setting } from '@tether/hub';
import { type FlagSpec, parseFlags, UsageError } from './flags.js';

export { UsageError } from './flags.js';

/** What `tether serve` was given on its command line (values are checked later, with the rest of the configuration). */
export interface ServeArgs {
  help: boolean;
  /** `--print-schema`: print the JSON Schema of the config file and exit. */
  printSchema: boolean;
  /** `--config PATH`. */
  configPath: string | undefined;
  /** Flag values by config key. */
  flags: ConfigLayer;
}

/** The flags of `tether serve`, from the config schema: name (without `--`) to its setting. */
const FLAG_SETTINGS = new Map<string, { setting: Setting; value?: string }>();
for (const setting of HUB_SETTINGS) {
  if (setting.flag !== undefined) FLAG_SETTINGS.set(setting.flag.slice(2), { setting });
  if (setting.switchFlag !== undefined) {
    FLAG_SETTINGS.set(setting.switchFlag.flag.slice(2), {
      setting,
      value: setting.switchFlag.value,
    });
  }
}

const SERVE_FLAGS: Record<string, FlagSpec> = {
  config: { kind: 'raw' },
  'print-schema': { kind: 'bool', noValue: true },
};
for (const [name, { value }] of FLAG_SETTINGS) {
  SERVE_FLAGS[name] = value === undefined ? { kind: 'raw' } : { kind: 'bool', noValue: true };
}

const line = (left: string, help: string): string => `  ${left.padEnd(30)} ${help}`;

/** One `--help` line per flag: its description and default, both from the schema. */
function flagLines(): string[] {
  const lines: string[] = [];
  for (const setting of HUB_SETTINGS) {
    if (setting.flag === undefined) continue;
    const shown = formatDefault(setting);
    lines.push(
      line(
        `${setting.flag} ${setting.arg ?? '<value>'}`,
        `${setting.description}${shown === undefined ? '' : ` (default ${shown})`}`,
      ),
    );
    if (setting.switchFlag !== undefined) {
      lines.push(line(setting.switchFlag.flag, setting.switchFlag.help));
    }
  }
  return lines;
}

/** The settings without a flag: their environment variables and defaults. */
function otherLines(): string[] {
  return HUB_SETTINGS.filter((s) => s.flag === undefined).map((setting) => {
    const shown = formatDefault(setting);
    const env = setting.env === undefined ? 'config file only' : setting.env.join(', ');
    return `  ${setting.key} (${env})${shown === undefined ? '' : `: default ${shown}`}`;
  });
}

export const SERVE_USAGE = `Usage: tether serve [options]

Runs the Tether hub: WebSocket endpoint /ws, HTTP API /api/*, /healthz, /readyz,
/stats, /metrics, /admin/*, the dashboard at /dashboard and a demo page at /.

Settings come from flags, then environment variables (TETHER_*), then the config file
(tether.config.json in the working directory, or --config PATH), then defaults.
Every setting is described in docs/configuration.md. Durations: 500ms, 25s, 2m, 1h.

Options:
${line('--config <path>', 'config file (default ./tether.config.json if it exists)')}
${flagLines().join('\n')}
${line('--print-schema', 'print the JSON Schema of the config file and exit')}
${line('-h, --help', 'show this help')}

Settings without a flag (environment variables, or the config file):
${otherLines().join('\n')}

Authentication is on by default (JWT): set TETHER_JWT_SECRET or --jwt-secret, or use
--insecure for local development. SIGTERM or SIGINT drains connections (goodbye + close
1012) and exits 0.`;

/**
 * Parses the arguments after `serve`: `--flag value`, `--flag=value`, and value-less
 * flags (`--insecure`); the last occurrence of a flag wins. Only the syntax is checked
 * here: values are checked with the environment and the config file (a bad value
 * throws a `ConfigError` naming the flag). Throws a {@link UsageError} naming the flag.
 */
export function parseServeArgs(argv: readonly string[]): ServeArgs {
  const parsed = parseFlags(argv, SERVE_FLAGS);
  const flags: ConfigLayer = new Map();
  let configPath: string | undefined;
  for (const { name, value } of parsed.given) {
    const flag = FLAG_SETTINGS.get(name);
    if (name === 'config') {
      if (value === '') throw new UsageError('--config needs a path');
      configPath = value as string;
    } else if (flag?.value !== undefined) {
      flags.set(flag.setting.key, { value: flag.value, text: false, label: `--${name}` });
    } else if (flag !== undefined) {
      flags.set(flag.setting.key, { value, text: true, label: `--${name}` });
    }
  }
  const extra = parsed.positionals[0];
  if (extra !== undefined && !parsed.help) {
    throw new UsageError(`unexpected argument "${extra}" (serve takes no arguments)`);
  }
  return {
    help: parsed.help,
    printSchema: parsed.values.get('print-schema') === true,
    configPath,
    flags,
  };
}
