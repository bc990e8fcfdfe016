/**
 * The package layout is the architecture (docs/architecture.md): which package may import
 * which, read from the import statements of every shipped `src/` file; every import a
 * package makes is declared in its package.json; every public package.json is
 * publishable; and the CLI's production install has no test machinery in it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const PACKAGES_DIR = join(ROOT, 'packages');

/**
 * What each package's `src/` may import of the other @tether packages. The rule of
 * docs/architecture.md: protocol and common are the base; the client never reaches the
 * server; the server never reaches the hub or the CLI; shipped code never imports the
 * private testkit.
 */
const ALLOWED_IMPORTS: Readonly<Record<string, readonly string[]>> = {
  common: [],
  protocol: ['common'],
  'fault-proxy': [],
  server: ['common', 'protocol'],
  'store-sqlite': ['common', 'server'],
  'store-redis': ['common', 'protocol', 'server'],
  client: ['common', 'protocol'],
  react: ['common', 'protocol', 'client'],
  dashboard: ['common'],
  hub: ['common', 'protocol', 'server', 'store-sqlite', 'store-redis', 'client', 'dashboard'],
  cli: ['common', 'protocol', 'server', 'store-sqlite', 'client', 'hub', 'fault-proxy'],
  testkit: ['common', 'fault-proxy', 'server'],
};

/** Packages that are published; testkit stays private. */
const PUBLIC = Object.keys(ALLOWED_IMPORTS).filter((name) => name !== 'testkit');

const BUILTINS = new Set(builtinModules);

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(path));
    else if (/\.(ts|tsx|mts|js|mjs)$/.test(entry.name)) out.push(path);
  }
  return out;
}

/** Module specifiers a source file imports: static, `export from`, dynamic, require. */
function importsOf(text: string): string[] {
  // Comments mention packages (`@tether/testkit's helper`) without importing them.
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const found: string[] = [];
  const patterns = [
    /\b(?:import|export)\s[^'"`;]*?\sfrom\s*['"]([^'"]+)['"]/g,
    /\bimport\s*['"]([^'"]+)['"]/g,
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
    /\brequire\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  for (const pattern of patterns) for (const m of code.matchAll(pattern)) found.push(m[1] ?? '');
  return found;
}

/** The package name of a bare specifier (`@scope/name/sub` -> `@scope/name`). */
function packageOf(specifier: string): string | undefined {
  if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('node:')) {
    return undefined;
  }
  const parts = specifier.split('/');
  const name = specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
  return name === undefined || BUILTINS.has(name) ? undefined : name;
}

interface PackageJson {
  name: string;
  version: string;
  private?: boolean;
  description?: string;
  license?: string;
  repository?: { type: string; url: string; directory?: string };
  engines?: { node?: string };
  files?: string[];
  exports?: Record<string, { types?: string; import?: string }>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

const readJson = (name: string): PackageJson =>
  JSON.parse(readFileSync(join(PACKAGES_DIR, name, 'package.json'), 'utf8')) as PackageJson;

/** Every violation of the import rule under `packages/NAME/src`, as readable lines. */
function importViolations(root: string = PACKAGES_DIR): string[] {
  const problems: string[] = [];
  for (const [name, allowed] of Object.entries(ALLOWED_IMPORTS)) {
    const src = join(root, name, 'src');
    if (!existsSync(src)) {
      problems.push(`packages/${name}/src is missing`);
      continue;
    }
    const manifest = JSON.parse(
      readFileSync(join(root, name, 'package.json'), 'utf8'),
    ) as PackageJson;
    const declared = new Set([
      ...Object.keys(manifest.dependencies ?? {}),
      ...Object.keys(manifest.peerDependencies ?? {}),
    ]);
    for (const file of sourceFiles(src)) {
      const where = relative(root, file);
      for (const specifier of importsOf(readFileSync(file, 'utf8'))) {
        const pkg = packageOf(specifier);
        if (pkg === undefined) continue;
        if (pkg.startsWith('@tether/')) {
          const target = pkg.slice('@tether/'.length);
          if (target === name) continue;
          if (!allowed.includes(target)) {
            problems.push(`${where} imports ${specifier}: ${name} may import only [${allowed}]`);
            continue;
          }
        }
        if (!declared.has(pkg)) {
          problems.push(`${where} imports ${specifier}, not a dependency of @tether/${name}`);
        }
      }
    }
  }
  return problems;
}

describe('package layout', () => {
  it('no package imports one it must not, and each import is a declared dependency', () => {
    expect(importViolations()).toEqual([]);
  });

  it('the rule sees every kind of import, and ignores comments', () => {
    const text = [
      "import { a } from '@tether/testkit';",
      "export { b } from '@tether/hub';",
      "import type { C } from '@tether/server/ops';",
      "const d = await import('@tether/cli');",
      "const e = require('better-sqlite3');",
      "import 'side-effect';",
      '// import { x } from "@tether/nothing";',
      '/** import { y } from "@tether/nothing"; */',
    ].join('\n');
    expect(importsOf(text).sort()).toEqual(
      [
        '@tether/cli',
        '@tether/hub',
        '@tether/server/ops',
        '@tether/testkit',
        'better-sqlite3',
        'side-effect',
      ].sort(),
    );
  });

  it('every package directory is covered by the rule', () => {
    const dirs = readdirSync(PACKAGES_DIR).filter((entry) =>
      statSync(join(PACKAGES_DIR, entry)).isDirectory(),
    );
    expect(dirs.sort()).toEqual(Object.keys(ALLOWED_IMPORTS).sort());
  });

  it.each(PUBLIC)('@tether/%s has a publishable package.json and a README', (name) => {
    const pkg = readJson(name);
    expect(pkg.name).toBe(`@tether/${name}`);
    expect(pkg.private, 'private').toBeUndefined();
    expect(pkg.version).toBe('0.1.0');
    expect(pkg.description?.length ?? 0, 'description').toBeGreaterThan(20);
    expect(pkg.license).toBe('MIT');
    expect(pkg.repository?.directory).toBe(`packages/${name}`);
    expect(pkg.engines?.node).toBe('>=20.19');
    expect(pkg.files).toContain('dist');
    const main = pkg.exports?.['.'];
    expect(main?.types).toMatch(/^\.\/dist\/.*\.d\.ts$/);
    expect(main?.import).toMatch(/^\.\/dist\/.*\.js$/);
    for (const [dep, version] of Object.entries(pkg.dependencies ?? {})) {
      if (dep.startsWith('@tether/')) {
        expect(version, `${dep}`).toBe('0.1.0');
        expect(PUBLIC, `${dep} is published`).toContain(dep.slice('@tether/'.length));
      }
    }
    expect(existsSync(join(PACKAGES_DIR, name, 'README.md')), 'README.md').toBe(true);
  });

  it('testkit stays private', () => {
    expect(readJson('testkit').private).toBe(true);
  });

  it('the server library installs no native addon, logger or metrics library', () => {
    const deps = Object.keys(readJson('server').dependencies ?? {});
    expect(deps).not.toContain('better-sqlite3');
    expect(deps).not.toContain('pino');
    expect(deps).not.toContain('prom-client');
  });

  it('a production install of @tether/cli has no playwright-core', () => {
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    const result = spawnSync(
      npm,
      ['ls', '--omit=dev', '--all', '--parseable', '--workspace', '@tether/cli'],
      { cwd: ROOT, encoding: 'utf8', timeout: 60_000 },
    );
    // Exit status 1 only flags extraneous/invalid packages elsewhere; the tree is printed.
    expect(result.stdout).toContain('@tether/cli');
    expect(result.stdout).toContain('@tether/hub');
    expect(result.stdout).not.toContain('playwright-core');
    expect(result.stdout).not.toContain('@tether/testkit');
  });
});
