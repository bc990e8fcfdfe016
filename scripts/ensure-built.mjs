#!/usr/bin/env node
// Used by `npm start`: runs `npm run build` when packages/cli/dist/index.js is missing or
// older than any source file of any package (the CLI bundles the server and client
// packages, so a change anywhere can change what `tether serve` runs).
//
// tsc -b does not rewrite outputs whose content did not change, so after a successful build
// we also record a stamp; "built" means newer than the stamp or the output, whichever is newer.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const OUTPUT = join(root, 'packages/cli/dist/index.js');
const STAMP = join(root, 'node_modules/.cache/tether/build-stamp');
/** Besides packages/NAME/src, these inputs change what the build produces. */
const CONFIG_INPUTS = ['tsconfig.base.json', 'tsconfig.build.json'];

function mtime(path) {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

/** Newest mtime of any file under `dir`, recursively; 0 if it does not exist. */
function newestIn(dir) {
  let newest = 0;
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    const time = entry.isDirectory() ? newestIn(path) : mtime(path);
    if (time > newest) newest = time;
  }
  return newest;
}

function newestSource() {
  let newest = Math.max(...CONFIG_INPUTS.map((file) => mtime(join(root, file))));
  const packagesDir = join(root, 'packages');
  for (const pkg of readdirSync(packagesDir, { withFileTypes: true })) {
    if (!pkg.isDirectory()) continue;
    const base = join(packagesDir, pkg.name);
    newest = Math.max(newest, newestIn(join(base, 'src')), mtime(join(base, 'tsconfig.json')));
  }
  return newest;
}

function main() {
  const builtAt = Math.max(mtime(OUTPUT), mtime(STAMP));
  const sourceAt = newestSource();
  if (existsSync(OUTPUT) && builtAt >= sourceAt) return 0;

  console.log(
    existsSync(OUTPUT)
      ? '[ensure-built] sources changed since the last build; running npm run build'
      : '[ensure-built] packages/cli/dist/index.js is missing; running npm run build',
  );
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const result = spawnSync(npm, ['run', 'build'], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) return result.status ?? 1;
  if (!existsSync(OUTPUT)) {
    console.error(
      '[ensure-built] npm run build succeeded but packages/cli/dist/index.js is missing',
    );
    return 1;
  }
  mkdirSync(dirname(STAMP), { recursive: true });
  writeFileSync(STAMP, `${new Date().toISOString()}\n`);
  return 0;
}

process.exitCode = main();
