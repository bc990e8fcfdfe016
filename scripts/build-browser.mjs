#!/usr/bin/env node
// Bundles the browser build of the client: packages/client/src/browser.ts ->
// packages/client/dist/tether-client.browser.js (one ESM file, minified, ES2020).
//
// Bundled from the TypeScript sources of every @tether package (through the root
// tsconfig's `paths`), so the bundle does not depend on the order `tsc -b` built the
// packages in, and esbuild can tree-shake across them. platform=browser makes esbuild fail
// loudly if anything reachable from browser.ts imports a Node built-in (or `ws`).
//
// Until the client package has a browser entry this is a no-op that exits 0.

import { existsSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
export const ENTRY = `${root}packages/client/src/browser.ts`;
export const OUTFILE = `${root}packages/client/dist/tether-client.browser.js`;

async function main() {
  if (!existsSync(ENTRY)) {
    console.log('[build-browser] packages/client/src/browser.ts does not exist yet; skipping');
    return 0;
  }
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: [ENTRY],
    outfile: OUTFILE,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2020',
    minify: true,
    sourcemap: true,
    legalComments: 'none',
    tsconfig: `${root}tsconfig.json`,
    define: { 'process.env.NODE_ENV': '"production"' },
    logLevel: 'warning',
  });
  if (result.errors.length > 0) return 1;
  console.log(
    `[build-browser] wrote packages/client/dist/tether-client.browser.js (${statSync(OUTFILE).size} bytes)`,
  );
  return 0;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      // esbuild already printed its diagnostics; anything else is a bug here.
      if (!err?.errors) console.error(err);
      process.exitCode = 1;
    },
  );
}
