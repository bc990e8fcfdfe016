import type * as z from 'zod';
import { toJSONSchema } from 'zod';
import { SETTINGS, type SettingSources } from './config-registry.js';
import { HUB_SCHEMA } from './config-schema.js';
import { DURATIONS, humanMs } from './config-values.js';

/**
 * The settings of {@link HUB_SCHEMA} as a flat list (dotted keys), read from the schema
 * itself: what the resolver, `--help`, `--print-schema` and the docs test walk.
 */

/** One setting: a leaf of the schema. */
export interface Setting extends SettingSources {
  /** Key in tether.config.json, dotted for nesting (`heartbeat.intervalMs`). */
  key: string;
  schema: z.ZodType;
  /** One line for `--help`. */
  description: string;
  /** The default (undefined: none, or {@link SettingSources.defaultText}). */
  defaultValue: unknown;
  /** Whether the value is a duration (shown as `25s`). */
  duration: boolean;
}

interface Def {
  type: string;
  innerType?: z.ZodType;
  defaultValue?: unknown;
  shape?: Record<string, z.ZodType>;
}

const defOf = (schema: z.ZodType): Def => (schema as unknown as { _zod: { def: Def } })._zod.def;

/** The schema inside defaults, prefaults and optionals. */
function unwrap(schema: z.ZodType): z.ZodType {
  let inner = schema;
  for (let def = defOf(inner); ['default', 'prefault', 'optional'].includes(def.type); ) {
    inner = def.innerType as z.ZodType;
    def = defOf(inner);
  }
  return inner;
}

function collect(shape: Record<string, z.ZodType>, prefix: string, into: Setting[]): void {
  for (const [name, schema] of Object.entries(shape)) {
    const key = prefix === '' ? name : `${prefix}.${name}`;
    const sources = SETTINGS.get(schema);
    if (sources !== undefined) {
      const def = defOf(schema);
      into.push({
        ...sources,
        key,
        schema,
        description: schema.description ?? '',
        defaultValue: def.type === 'default' ? def.defaultValue : undefined,
        duration: DURATIONS.has(unwrap(schema)),
      });
      continue;
    }
    const inner = defOf(unwrap(schema));
    if (inner.type === 'object' && inner.shape !== undefined) collect(inner.shape, key, into);
  }
}

/** Every setting, in the schema's order. */
export const HUB_SETTINGS: readonly Setting[] = (() => {
  const list: Setting[] = [];
  collect(HUB_SCHEMA.shape, '', list);
  return list;
})();

export const SETTING_BY_KEY: ReadonlyMap<string, Setting> = new Map(
  HUB_SETTINGS.map((s) => [s.key, s]),
);

/** Every environment variable that sets something. */
export const ENV_NAMES: readonly string[] = HUB_SETTINGS.flatMap((s) => s.env ?? []);

/** A setting's default as `--help` and docs/configuration.md show it. */
export function formatDefault(setting: Setting): string | undefined {
  const value = setting.defaultValue;
  if (value === undefined) return setting.defaultText;
  if (setting.duration && typeof value === 'number') return humanMs(value);
  if (typeof value === 'object') return JSON.stringify(value, null, 1).replace(/\n\s*/g, ' ');
  return String(value);
}

/** Turns a flag's or environment variable's text into the value the schema checks. */
export function fromText(setting: Setting, text: string): unknown {
  switch (setting.text ?? 'text') {
    case 'int':
      return /^-?\d+$/.test(text.trim()) ? Number(text) : text;
    case 'bool': {
      const word = text.trim().toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(word)) return true;
      if (['0', 'false', 'no', 'off', ''].includes(word)) return false;
      return text;
    }
    case 'list':
      return splitList(text);
    case 'proxies': {
      const word = text.trim();
      if (['', 'false', 'off', 'no', '0'].includes(word)) return false;
      return word === 'true' ? true : splitList(text);
    }
    default:
      return text;
  }
}

function splitList(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/**
 * `--print-schema`: the JSON Schema of tether.config.json (what the file may hold, so
 * durations are numbers or strings like `"25s"`), with descriptions and defaults.
 */
export function hubJsonSchema(): Record<string, unknown> {
  return toJSONSchema(HUB_SCHEMA, {
    io: 'input',
    override: (ctx) => {
      // zod leaves out the defaults of transformed values (durations, store,
      // trustProxy) in input mode; they are valid input too, so they are shown.
      const def = defOf(ctx.zodSchema as unknown as z.ZodType);
      if (def.type === 'default' && ctx.jsonSchema.default === undefined) {
        ctx.jsonSchema.default = def.defaultValue as never;
      }
    },
  }) as Record<string, unknown>;
}

/** One zod issue as the path of the bad value and what is wrong with it. */
export function describeIssue(issue: z.core.$ZodIssue): { path: string; message: string } {
  let path = [...issue.path];
  let message = issue.message;
  if (issue.code === 'unrecognized_keys') path = [...path, issue.keys[0] as string];
  if (issue.code === 'invalid_key') message = issue.issues[0]?.message ?? message;
  return { path: formatPath(path), message };
}

/** `heartbeat.intervalMs`, `topics["demo:*"].publish`, `origins[1]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  path.forEach((part, i) => {
    if (typeof part === 'number') out += `[${part}]`;
    else if (i === 1 && path[0] === 'topics') out += `[${JSON.stringify(part)}]`;
    else out += i === 0 ? String(part) : `.${String(part)}`;
  });
  return out;
}
