import * as z from 'zod';

/**
 * The registry behind the hub's settings: which schema leaves are settings, and where
 * each may come from besides the config file (flag, environment). The schema files
 * (config-schema.ts, config-backend.ts) mark their leaves with {@link setting}.
 */

/** How a flag's or environment variable's text becomes the setting's JSON value. */
export type TextKind = 'int' | 'bool' | 'text' | 'list' | 'proxies';

/** Where a setting may come from besides the config file. */
export interface SettingSources {
  /** Environment variables, first found wins. */
  env?: readonly string[];
  /** The flag of `tether serve`, e.g. `--port`. */
  flag?: string;
  /** Placeholder of the flag's value in `--help` (`<n>`). */
  arg?: string;
  /** A value-less flag that sets a fixed value (`--insecure` is `--auth none`). */
  switchFlag?: { flag: string; value: string; help: string };
  /** How text becomes a value (default `text`: the string as is). */
  text?: TextKind;
  /** The default in words, where it depends on other settings (`auth.algorithm`). */
  defaultText?: string;
}

/** Sources of each setting (leaf) of the hub's schema (`HUB_SCHEMA`). */
export const SETTINGS = z.registry<SettingSources>();

/** A setting: `schema` with its description (one line of `--help`) and sources. */
export function setting<T extends z.ZodType>(
  schema: T,
  description: string,
  sources: SettingSources = {},
): T {
  const described = schema.describe(description) as T;
  // Never empty: zod's registry reports a clone's empty entry as none.
  SETTINGS.add(described, { ...sources, text: sources.text ?? 'text' });
  return described;
}
