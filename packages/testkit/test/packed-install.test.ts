/**
 * Issue 14, "installable packages": what a user outside this repository gets. Every
 * public package is packed with `npm pack` (its dist and types inside); an empty app in
 * a temp dir outside the repo installs the server and client tarballs with
 * `npm install --ignore-scripts` (so no native compile can happen; dependencies such as
 * `ws` come from the registry) and runs a memory-store server + client round trip, once
 * as plain JavaScript (ESM) and once as TypeScript type-checked by the repo's `tsc`
 * against the installed packages' types. Slow-ish (an npm install): tens of seconds.
 */
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCommand, type TempDir, tempDir } from '@tether/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');

/** Every public package, and files its tarball must carry besides package.json. */
const PACKED: Readonly<Record<string, readonly string[]>> = {
  common: ['dist/index.js', 'dist/index.d.ts', 'README.md'],
  protocol: ['dist/index.js', 'dist/index.d.ts', 'README.md'],
  'fault-proxy': ['dist/index.js', 'dist/index.d.ts', 'README.md'],
  server: ['dist/index.js', 'dist/index.d.ts', 'dist/ops/index.js', 'dist/store-kit.d.ts'],
  'store-sqlite': ['dist/index.js', 'dist/index.d.ts', 'README.md'],
  client: ['dist/index.js', 'dist/index.d.ts', 'dist/tether-client.browser.js'],
  dashboard: ['dist/index.js', 'dist/index.d.ts', 'public/index.html'],
  hub: ['dist/index.js', 'dist/index.d.ts', 'public/demo.html'],
  cli: ['dist/index.js', 'bin/tether.js', 'README.md'],
};

/** What the memory-store app installs: no SQLite, no logger, no metrics library. */
const APP_PACKAGES = ['common', 'protocol', 'server', 'client'] as const;

/** Runs a command to its exit as a stranger to this repo would: no workspace config, no test-runner env. */
function run(command: string, args: readonly string[], cwd: string, timeoutMs: number) {
  const env = {
    ...process.env,
    VITEST: undefined,
    NODE_ENV: undefined,
    npm_config_workspace: undefined,
  };
  return runCommand(command, args, { cwd, env, timeoutMs });
}

/** The 20-line app of README.md's "Use Tether in your own project", in JavaScript. */
const APP_JS = `import { TetherClient } from '@tether/client';
import { TetherServer } from '@tether/server';
import { WebSocket } from 'ws';

const server = new TetherServer({ port: 0, host: '127.0.0.1' });
const chat = server.endpoint('/ws');
chat.handle('echo', (data) => ({ echoed: data }));
chat.onMessage((data, { connection }) => void chat.sendTo(connection.sessionId, { got: data }));
const { port } = await server.listen();

const client = new TetherClient(\`ws://127.0.0.1:\${port}/ws\`, { WebSocket });
const got = new Promise((resolve) => client.on('message', (m) => resolve(m.data)));
const reply = await client.request('echo', 'hello');
await client.send('ping');
console.log(JSON.stringify({ reply, message: await got }));
await client.close();
await server.close();
`;

/** The same app in TypeScript, with types from the installed packages. */
const APP_TS = `import { TetherClient } from '@tether/client';
import type { Json } from '@tether/protocol';
import { type Endpoint, TetherServer } from '@tether/server';
import { WebSocket } from 'ws';

const server = new TetherServer({ port: 0, host: '127.0.0.1' });
const chat: Endpoint = server.endpoint('/ws');
chat.handle('echo', (data: Json | undefined) => ({ echoed: data ?? null }));
chat.onMessage((data, { connection }) => void chat.sendTo(connection.sessionId as string, { got: data }));
const { port } = await server.listen();

const client = new TetherClient(\`ws://127.0.0.1:\${port}/ws\`, { WebSocket });
const got = new Promise<Json>((resolve) => client.on('message', (m) => resolve(m.data)));
const reply: Json = await client.request('echo', 'hello');
await client.send('ping');
console.log(JSON.stringify({ reply, message: await got }));
await client.close();
await server.close();
`;

const EXPECTED = { reply: { echoed: 'hello' }, message: { got: 'ping' } };

/** The app's result line (the server's own log lines are JSON too, without `reply`). */
function resultOf(output: string): unknown {
  const line = output.split('\n').find((l) => l.startsWith('{"reply"'));
  if (line === undefined) throw new Error(`no result line in:\n${output}`);
  return JSON.parse(line);
}

let tmp: TempDir | undefined;
const tarballs = new Map<string, string>();
const packedFiles = new Map<string, string[]>();

beforeAll(async () => {
  // The tarballs carry dist/: build what is stale first (quick when nothing changed).
  const built = await run(process.execPath, ['scripts/ensure-built.mjs'], ROOT, 600_000);
  expect(built.status, built.output).toBe(0);
  tmp = await tempDir('tether-packed-');
  const packs = join(tmp.path, 'packs');
  const args = ['pack', '--json', '--ignore-scripts', '--pack-destination', packs];
  for (const name of Object.keys(PACKED)) args.push('--workspace', `@tether/${name}`);
  const { mkdirSync } = await import('node:fs');
  mkdirSync(packs);
  const packed = await run(NPM, args, ROOT, 120_000);
  expect(packed.status, packed.output).toBe(0);
  const json = packed.output.slice(packed.output.indexOf('['));
  for (const entry of JSON.parse(json) as Array<{
    name: string;
    filename: string;
    files: Array<{ path: string }>;
  }>) {
    const short = entry.name.slice('@tether/'.length);
    tarballs.set(short, join(packs, entry.filename));
    packedFiles.set(
      short,
      entry.files.map((f) => f.path),
    );
  }
}, 700_000);

afterAll(async () => {
  await tmp?.cleanup();
});

describe('packed packages', () => {
  it.each(Object.keys(PACKED))('@tether/%s packs with its dist and types', (name) => {
    const files = packedFiles.get(name) ?? [];
    for (const file of ['package.json', ...(PACKED[name] ?? [])]) {
      expect(files, `${name}: ${file}`).toContain(file);
    }
    // Nothing of the sources or tests ships.
    expect(files.filter((f) => f.startsWith('src/') || f.startsWith('test/'))).toEqual([]);
  });

  it('a memory-store server and a client install into an empty app and make a round trip, in JavaScript and in TypeScript', async () => {
    const app = join(tmp?.path ?? '', 'app');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(app);
    expect(app.startsWith(ROOT)).toBe(false);
    writeFileSync(
      join(app, 'package.json'),
      `${JSON.stringify({ name: 'tether-user-app', private: true, type: 'module' }, null, 2)}\n`,
    );
    const install = await run(
      NPM,
      [
        'install',
        '--ignore-scripts',
        '--no-audit',
        '--no-fund',
        '--prefer-offline',
        ...APP_PACKAGES.map((name) => tarballs.get(name) ?? name),
        'ws@8.18.3',
        '@types/ws@8.18.2',
        '@types/node@20.19.43',
      ],
      app,
      240_000,
    );
    expect(install.status, install.output).toBe(0);
    const modules = readdirSync(join(app, 'node_modules'));
    // A memory-store user gets no native addon, no logging or metrics framework.
    for (const absent of ['better-sqlite3', 'pino', 'prom-client', 'playwright-core']) {
      expect(modules, absent).not.toContain(absent);
    }
    expect(readdirSync(join(app, 'node_modules/@tether')).sort()).toEqual([...APP_PACKAGES].sort());

    writeFileSync(join(app, 'app.mjs'), APP_JS);
    const js = await run(process.execPath, ['app.mjs'], app, 30_000);
    expect(js.status, js.output).toBe(0);
    expect(resultOf(js.output)).toEqual(EXPECTED);

    writeFileSync(join(app, 'app.ts'), APP_TS);
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          skipLibCheck: false,
          types: ['node'],
          outDir: 'out',
        },
        files: ['app.ts'],
      }),
    );
    const tsc = await run(process.execPath, [TSC, '-p', 'tsconfig.json'], app, 120_000);
    expect(tsc.status, tsc.output).toBe(0);
    expect(existsSync(join(app, 'out/app.js'))).toBe(true);
    const ts = await run(process.execPath, ['out/app.js'], app, 30_000);
    expect(ts.status, ts.output).toBe(0);
    expect(resultOf(ts.output)).toEqual(EXPECTED);
  }, 400_000);
});
