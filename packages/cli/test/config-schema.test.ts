import { readFileSync } from 'node:fs';
import {
  ConfigError,
  configFromObject,
  formatDefault,
  HUB_SCHEMA,
  HUB_SETTINGS,
} from '@tether/hub';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { main } from '../src/index.js';

const DOCS = readFileSync(new URL('../../../docs/configuration.md', import.meta.url), 'utf8');

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, stdout: (l: string) => out.push(l), stderr: (l: string) => err.push(l) };
}

async function run(argv: string[]) {
  const io = capture();
  const code = await main(argv, { io, env: {} });
  return { code, out: io.out.join('\n'), err: io.err.join('\n') };
}

/** The code spans of one table cell: `a`, `b` -> [a, b]. */
const spans = (cell: string): string[] => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1] ?? '');

/** Rows of docs/configuration.md's "Every setting" table by key. */
function docsTable(): Map<string, { flags: string[]; env: string[]; default: string }> {
  const section = DOCS.slice(DOCS.indexOf('## Every setting'));
  const rows = new Map<string, { flags: string[]; env: string[]; default: string }>();
  for (const line of section.split('\n').slice(4)) {
    if (!line.startsWith('| `')) break;
    const [key, flags, env, shown] = line
      .split('|')
      .slice(1)
      .map((c) => c.trim());
    const [first] = spans(key ?? '');
    const cell = shown ?? '';
    // A single value is one code span; a default in words is the cell without backticks.
    const whole = /^`[^`]*`(:|$)/.test(cell) ? (spans(cell)[0] ?? '') : cell.replaceAll('`', '');
    rows.set(first ?? '', { flags: spans(flags ?? ''), env: spans(env ?? ''), default: whole });
  }
  return rows;
}

/** The example tether.config.json of docs/configuration.md. */
function docsExample(): unknown {
  const section = DOCS.slice(DOCS.indexOf('## The config file'));
  const block = /```json\n([\s\S]*?)```/.exec(section)?.[1];
  return JSON.parse(block ?? 'null');
}

describe('the config schema is the one source of settings', () => {
  it('docs/configuration.md lists every setting with the flags, variables and default of the schema', () => {
    const table = docsTable();
    expect([...table.keys()].sort()).toEqual(HUB_SETTINGS.map((s) => s.key).sort());
    for (const setting of HUB_SETTINGS) {
      const row = table.get(setting.key);
      const flags = [setting.flag, setting.switchFlag?.flag].filter((f) => f !== undefined);
      expect({ key: setting.key, ...row }).toEqual({
        key: setting.key,
        flags,
        env: setting.env ?? [],
        default: formatDefault(setting) ?? '',
      });
    }
  });

  it('tether serve --help shows the default of every flag as the schema has it; --host is loopback', async () => {
    const help = await run(['serve', '--help']);
    expect(help.code).toBe(0);
    const lines = help.out.split('\n');
    expect(lines.find((l) => l.trimStart().startsWith('--host '))).toMatch(
      /interface to bind \(default 127\.0\.0\.1\)$/,
    );
    for (const setting of HUB_SETTINGS) {
      const shown = formatDefault(setting);
      if (setting.flag === undefined || shown === undefined) continue;
      const line = lines.find((l) => l.trimStart().startsWith(`${setting.flag} `));
      expect(line, setting.flag).toContain(`(default ${shown})`);
    }
    for (const setting of HUB_SETTINGS.filter((s) => s.flag === undefined)) {
      const line = lines.find((l) => l.trimStart().startsWith(`${setting.key} (`));
      expect(line, setting.key).toBeDefined();
      const shown = formatDefault(setting);
      if (shown !== undefined) expect(line).toContain(`default ${shown}`);
    }
  });

  it('--print-schema prints a JSON Schema that accepts the documented example and refuses an unknown key', async () => {
    const printed = await run(['serve', '--print-schema']);
    expect(printed.code).toBe(0);
    const schema = JSON.parse(printed.out) as Record<string, unknown>;
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    const validate = new Ajv2020({ strict: false }).compile(schema);
    const example = docsExample();
    expect(validate(example), JSON.stringify(validate.errors)).toBe(true);
    // The zod schema behind it agrees.
    expect(HUB_SCHEMA.safeParse(example).success).toBe(true);

    expect(validate({ limits: { maxConnectionsPerIP: 5 } })).toBe(false);
    expect(validate.errors?.[0]).toMatchObject({
      instancePath: '/limits',
      keyword: 'additionalProperties',
      params: { additionalProperty: 'maxConnectionsPerIP' },
    });
    expect(validate({ heartbeat: { intervalMs: 'soon' } })).toBe(false);
    expect(validate({ heartbeat: { intervalMs: '1.5s' }, port: 0 })).toBe(true);
    // Defaults and descriptions come along, durations as the file may write them.
    const properties = schema.properties as Record<string, Record<string, unknown>>;
    expect(properties.host).toMatchObject({
      default: '127.0.0.1',
      description: 'interface to bind',
    });
    expect(properties.resumeWindowMs?.default).toBe(120_000);
  });

  it('names the source and the path of an unknown key', () => {
    let message = '';
    try {
      configFromObject({ limits: { maxConnectionsPerIP: 5 } }, 'tether.config.json');
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      message = err.message;
    }
    expect(message).toMatch(
      /^tether\.config\.json: limits\.maxConnectionsPerIP: unknown key \(known: maxMessageBytes, maxConnectionsPerIp, /,
    );
  });
});

describe('one command runner for every subcommand', () => {
  it.each(['serve', 'probe', 'bench', 'chaos', 'stability'])(
    'tether %s: a usage error exits 2 with one line and a hint; --help exits 0',
    async (command) => {
      const bad = await run([command, '--no-such-flag']);
      expect(bad.code).toBe(2);
      expect(bad.out).toBe('');
      expect(bad.err.split('\n')).toEqual([
        `tether ${command}: unknown option --no-such-flag`,
        `Run "tether ${command} --help" for the options.`,
      ]);
      const help = await run([command, '--help']);
      expect(help.code).toBe(0);
      expect(help.out).toMatch(new RegExp(`^Usage: tether ${command}`));
    },
  );

  it('tether --help lists every command', async () => {
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    for (const command of ['serve', 'probe', 'bench', 'chaos', 'stability']) {
      expect(help.out).toMatch(new RegExp(`^  ${command} `, 'm'));
    }
  });
});
